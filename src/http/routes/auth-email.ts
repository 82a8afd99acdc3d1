import { createRoute, z } from "@hono/zod-openapi";
import type { AppDeps } from "../deps.js";
import { errorResponses, json, SECURITY } from "../openapi.js";
import { createRouter } from "../router.js";

const Token = z.string().min(10).max(200);
const Accepted = z.object({ status: z.literal("accepted"), message: z.string() }).openapi("EmailRequestAccepted");
const Verified = z.object({ status: z.literal("verified"), email: z.string() }).openapi("EmailVerified");
const Reset = z.object({ status: z.literal("password_changed") }).openapi("PasswordChanged");
const ResetRequest = z.object({ email: z.string().trim().min(3).max(254) }).openapi("PasswordResetRequest");
const ResetConfirm = z.object({ token: Token, password: z.string().min(1).max(256) }).openapi("PasswordResetConfirm");
const VerifyConfirm = z.object({ token: Token }).openapi("EmailVerifyConfirm");

const ACCEPTED = { status: "accepted" as const, message: "If the address belongs to an account, a link is on its way. It works once and expires." };
const common = { tags: ["Auth"], security: SECURITY.public };
const jsonBody = <T extends z.ZodType>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });

/**
 * E-mail links: password reset (request → confirm) and address verification. The reset request
 * answers 202 with the same body for every address and before any lookup, so neither the body nor
 * the timing tells whether an account exists.
 */
export function createAuthEmailRoutes(deps: AppDeps) {
  const app = createRouter();
  const mail = deps.operator.accountEmail;
  const confirmVerify = async (token: string) => ({ status: "verified" as const, email: (await mail.confirmVerification(token)).email });

  app.openapi(
    createRoute({
      ...common,
      method: "post",
      path: "/v1/auth/password/reset",
      summary: "Ask for a password-reset link by e-mail (same answer whether or not the address exists)",
      request: jsonBody(ResetRequest),
      responses: { 202: json(Accepted, "Accepted"), ...errorResponses("invalid_request") },
    }),
    (c) => {
      const { email } = c.req.valid("json");
      void mail.requestPasswordReset(email).catch((e) => deps.logger.error({ err: (e as Error).message }, "password reset e-mail failed"));
      return c.json(ACCEPTED, 202);
    },
  );
  app.openapi(
    createRoute({
      ...common,
      method: "post",
      path: "/v1/auth/password/reset/confirm",
      summary: "Set a new password with the link's token (single use; ends every session of the user)",
      request: jsonBody(ResetConfirm),
      responses: { 200: json(Reset, "Password changed"), ...errorResponses("invalid_request") },
    }),
    async (c) => {
      const b = c.req.valid("json");
      await mail.confirmPasswordReset(b.token, b.password);
      return c.json({ status: "password_changed" as const }, 200);
    },
  );
  app.openapi(
    createRoute({
      ...common,
      method: "post",
      path: "/v1/auth/email/verify",
      summary: "Confirm an e-mail address with the link's token (single use)",
      request: jsonBody(VerifyConfirm),
      responses: { 200: json(Verified, "Address confirmed"), ...errorResponses("invalid_request") },
    }),
    async (c) => c.json(await confirmVerify(c.req.valid("json").token), 200),
  );
  app.openapi(
    createRoute({
      ...common,
      method: "get",
      path: "/v1/auth/email/verify",
      summary: "The same, for the link opened straight from the e-mail",
      request: { query: z.object({ token: Token.openapi({ param: { name: "token", in: "query" } }) }) },
      responses: { 200: json(Verified, "Address confirmed"), ...errorResponses("invalid_request") },
    }),
    async (c) => c.json(await confirmVerify(c.req.valid("query").token), 200),
  );
  return app;
}
