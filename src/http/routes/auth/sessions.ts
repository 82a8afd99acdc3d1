import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { getCookie } from "hono/cookie";
import { accountView } from "../../../accounts/admin.js";
import { refreshSession, revokeSession, sessionOfRefreshToken } from "../../../accounts/sessions.js";
import { getAccount, userView } from "../../../accounts/users.js";
import { AppError } from "../../../core/errors.js";
import { users } from "../../../db/schema/index.js";
import type { AppDeps } from "../../deps.js";
import { COOKIES, principalAuth, principalOf, sessionPrincipal } from "../../middleware/session-auth.js";
import { SECURITY } from "../../openapi.js";
import { AccountSchema, accountsRouter, err, json, SessionSchema, UserSchema } from "../accounts-schemas.js";
import { sessionResponder } from "./session-responder.js";

const Refresh = z
  .object({
    refresh_token: z.string().max(200).optional(),
    session: z
      .enum(["cookie", "web"])
      .optional()
      .openapi({ description: "With the refresh cookie: answer as `cookie` (default) or `web` (access token in the body)" }),
  })
  .openapi("RefreshRequest");

const Me = z
  .object({
    kind: z.enum(["session", "key", "admin_token"]),
    role: z.enum(["client", "admin"]),
    user: UserSchema.nullable(),
    account: AccountSchema.nullable(),
  })
  .openapi("Me");

/** A session's life after login: refresh (rotating), logout, and who the caller is. */
export function createSessionRoutes(deps: AppDeps) {
  const app = accountsRouter();
  const now = () => deps.clock.now();
  const sessions = sessionResponder(deps);
  const { clearSessionCookies, requireCsrfForRefreshCookie, sessionBody } = sessions;
  const rt = deps.auth;
  const security = SECURITY.bearer;

  // ------------------------------------------------------------ refresh

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/refresh",
      tags: ["Auth"],
      summary: "Exchange a refresh token for new tokens (the old one is spent)",
      description:
        "Refresh tokens rotate on every use. Presenting a spent one again means it was copied: the whole session is revoked. Browsers send no body: the httpOnly refresh cookie is used, with the CSRF header.",
      request: { body: { content: { "application/json": { schema: Refresh } }, required: false } },
      responses: { 200: json(SessionSchema, "New tokens"), 401: err("Invalid, expired, reused or revoked"), 403: err("CSRF") },
    }),
    async (c) => {
      let body: { refresh_token?: string; session?: "cookie" | "web" } = {};
      if ((c.req.header("content-type") ?? "").includes("json")) body = c.req.valid("json") ?? {};
      const cookieToken = getCookie(c, COOKIES.refresh);
      const token = body.refresh_token ?? cookieToken;
      if (!token) throw new AppError("invalid_token", "No refresh token: send {refresh_token} or the refresh cookie");
      const viaCookie = !body.refresh_token;
      if (viaCookie) await requireCsrfForRefreshCookie(c, token);
      const s = await rt.tokens();
      const r = await refreshSession(deps.db, s, token, now());
      if (!r.ok) {
        if (viaCookie) clearSessionCookies(c);
        if (r.reason === "user_blocked") throw new AppError("user_blocked", "This user is blocked");
        if (r.reason === "account_blocked") throw new AppError("account_blocked", "This account is blocked");
        const msg = {
          invalid: "Invalid refresh token",
          expired: "Refresh token expired; log in again",
          reused: "Refresh token reuse detected: this session has been ended everywhere; log in again",
          revoked: "This session has ended; log in again",
        }[r.reason];
        throw new AppError("invalid_token", msg);
      }
      const account = await getAccount(deps.db, r.user.accountId);
      return c.json(sessionBody(c, r.tokens, r.user, account!, viaCookie ? (body.session ?? "cookie") : "token"), 200);
    },
  );

  // ------------------------------------------------------------ logout

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/logout",
      tags: ["Auth"],
      summary: "End the session (refresh token, access token or cookies)",
      request: { body: { content: { "application/json": { schema: Refresh } }, required: false } },
      responses: { 200: json(z.object({ ok: z.boolean(), revoked: z.boolean() }), "Logged out"), 400: err("Malformed body") },
    }),
    async (c) => {
      let body: { refresh_token?: string } = {};
      if ((c.req.header("content-type") ?? "").includes("json")) body = c.req.valid("json") ?? {};
      let sessionId: string | null = null;
      if (body.refresh_token) sessionId = await sessionOfRefreshToken(deps.db, body.refresh_token);
      else {
        const cookieToken = getCookie(c, COOKIES.refresh);
        if (cookieToken) {
          await requireCsrfForRefreshCookie(c, cookieToken);
          sessionId = await sessionOfRefreshToken(deps.db, cookieToken);
        } else {
          const p = await sessionPrincipal(deps, c).catch(() => null);
          sessionId = p?.sessionId ?? null;
        }
      }
      const revoked = sessionId ? await revokeSession(deps.db, sessionId, "logout") : false;
      clearSessionCookies(c);
      return c.json({ ok: true, revoked }, 200);
    },
  );

  // ------------------------------------------------------------ me

  app.use("/v1/auth/me", principalAuth(deps));
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/auth/me",
      tags: ["Auth"],
      summary: "Who am I: user and account of the session (or of a management key)",
      security,
      responses: { 200: json(Me, "The caller"), 401: err("Not logged in") },
    }),
    async (c) => {
      const p = principalOf(c);
      const user = p.userId ? await deps.db.select().from(users).where(eq(users.id, p.userId)).limit(1) : [];
      const account = p.accountId ? await getAccount(deps.db, p.accountId) : null;
      return c.json(
        {
          kind: p.kind,
          role: p.role,
          user: user[0] ? userView(user[0]) : null,
          account: account ? accountView(account, deps.settings.currency) : null,
        },
        200,
      );
    },
  );

  return app;
}
