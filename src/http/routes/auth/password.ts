import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { hashPassword, needsRehash, passwordProblem } from "../../../accounts/password.js";
import { checkPassword, createAccount, createUser, findUserByEmail, normalizeEmail, type AccountRow, type UserRow } from "../../../accounts/users.js";
import { writeAudit } from "../../../audit/index.js";
import { AppError } from "../../../core/errors.js";
import { accounts, users } from "../../../db/schema/index.js";
import { resolveReferralCode } from "../../../payments/referrals.js";
import type { AppDeps } from "../../deps.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { accountsRouter, err, json, SessionSchema } from "../accounts-schemas.js";
import { SessionMode, sessionResponder } from "./session-responder.js";

const Register = z
  .object({
    email: z.string().trim().max(254).email(),
    password: z.string().min(1).max(256),
    name: z.string().trim().max(200).optional(),
    referral_code: z.string().max(64).optional().openapi({ description: "An inviter's code (the web app's ?ref= link); an unknown code is ignored" }),
    session: SessionMode,
  })
  .openapi("RegisterRequest");

const Login = z.object({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(256), session: SessionMode }).openapi("LoginRequest");

/** Email and password: registration (account, user and session at once) and login. */
export function createPasswordAuthRoutes(deps: AppDeps) {
  const app = accountsRouter();
  const sessions = sessionResponder(deps);
  const rt = deps.auth;
  const { openSession, sessionBody } = sessions;

  // ------------------------------------------------------------ register

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/register",
      tags: ["Auth"],
      summary: "Register with email and password (creates an account and logs in)",
      request: { body: { content: { "application/json": { schema: Register } }, required: true } },
      responses: { 201: json(SessionSchema, "Registered and logged in"), 400: err("Invalid"), 403: err("Registration closed"), 409: err("Email taken") },
    }),
    async (c) => {
      if (!deps.settings.registrationEnabled) throw new AppError("forbidden", "Self-registration is disabled on this gateway");
      const body = c.req.valid("json");
      const problem = passwordProblem(body.password);
      if (problem) throw new AppError("invalid_request", problem, { param: "password" });
      const email = normalizeEmail(body.email);
      if (await findUserByEmail(deps.db, email)) throw new AppError("conflict", "This email is already registered", { param: "email" });
      const passwordHash = await hashPassword(body.password);
      let created: { user: UserRow; account: AccountRow };
      try {
        created = await deps.db.transaction(async (tx) => {
          const account = await createAccount(tx, { name: body.name || email });
          const inviter = body.referral_code ? await resolveReferralCode(tx, body.referral_code) : null;
          if (inviter) await tx.update(accounts).set({ referredBy: inviter }).where(eq(accounts.id, account.id));
          const user = await createUser(tx, { accountId: account.id, email, name: body.name ?? null, role: "client" });
          await tx.update(users).set({ passwordHash }).where(eq(users.id, user.id));
          await writeAudit(tx, {
            actor: `user:${user.id}`,
            action: "user.register",
            targetType: "user",
            targetId: user.id,
            after: { email, account_id: account.id },
            ip: clientIp(c),
          });
          return { user, account };
        });
      } catch (e) {
        if (await findUserByEmail(deps.db, email)) throw new AppError("conflict", "This email is already registered", { param: "email" });
        throw e;
      }
      // The verification e-mail goes out after the answer (no SMTP time on the request path).
      void deps.operator.accountEmail
        .sendVerification(created.user.id)
        .catch((e) => deps.logger.error({ err: (e as Error).message }, "verification e-mail failed"));
      const t = await openSession(c, created.user, "password");
      return c.json(sessionBody(c, t, created.user, created.account, body.session), 201);
    },
  );

  // ------------------------------------------------------------ login

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/login",
      tags: ["Auth"],
      summary: "Log in with email and password",
      description:
        "Slowed down per account and client address, per address and per account: past the free failures each attempt waits 1, 2, 4 … s (429 `too_many_attempts` with Retry-After); never a hard lock, so guesses from elsewhere do not lock the owner out.",
      request: { body: { content: { "application/json": { schema: Login } }, required: true } },
      responses: { 200: json(SessionSchema, "Logged in"), 401: err("Wrong email or password"), 403: err("Blocked"), 429: err("Too many attempts") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const email = normalizeEmail(body.email);
      const ip = clientIp(c);
      const tooMany = (retryAfterSec: number) =>
        new AppError("too_many_attempts", `Too many failed logins; try again in ${retryAfterSec} s`, { headers: { "retry-after": String(retryAfterSec) } });
      const gate = await rt.throttle.check(email, ip);
      if (!gate.allowed) throw tooMany(gate.retryAfterSec);
      const r = await checkPassword(deps.db, email, body.password);
      if (!r.ok) {
        if (r.reason === "bad_credentials") {
          const v = await rt.throttle.fail(email, ip);
          if (!v.allowed) throw tooMany(v.retryAfterSec);
          throw new AppError("invalid_credentials", "Wrong email or password");
        }
        throw new AppError(r.reason, r.reason === "user_blocked" ? "This user is blocked" : "This account is blocked");
      }
      await rt.throttle.succeed(email, ip);
      if (needsRehash(r.user.passwordHash!)) {
        await deps.db
          .update(users)
          .set({ passwordHash: await hashPassword(body.password) })
          .where(eq(users.id, r.user.id));
      }
      const t = await openSession(c, r.user, "password");
      return c.json(sessionBody(c, t, r.user, r.account, body.session), 200);
    },
  );

  return app;
}
