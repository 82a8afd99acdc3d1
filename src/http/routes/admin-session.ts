import { createHash, timingSafeEqual } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { setCookie } from "hono/cookie";
import { accountView } from "../../accounts/admin.js";
import { ensureOperator } from "../../accounts/operator.js";
import { createSession } from "../../accounts/sessions.js";
import { userView } from "../../accounts/users.js";
import { writeAudit } from "../../audit/index.js";
import { AppError } from "../../core/errors.js";
import type { AppDeps } from "../deps.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { COOKIES } from "../middleware/session-auth.js";
import { accountsRouter, err, json, SessionSchema } from "./accounts-schemas.js";

const TokenLogin = z
  .object({
    token: z.string().min(1).max(1000),
    session: z
      .enum(["token", "cookie", "web"])
      .default("cookie")
      .openapi({ description: "As for POST /v1/auth/login: `cookie` (the default), `web` (access token in the body, refresh token as an httpOnly cookie: the web app) or `token`" }),
  })
  .openapi("AdminTokenLoginRequest");

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * `POST /v1/auth/admin-token`: the ADMIN_TOKEN holder's login form. The token is checked in
 * constant time, failures count against the client IP like password logins, and a success opens an
 * ordinary session of the operator user (accounts/operator.ts) and is audited as
 * `admin.session.create`. The admin panel then works with the session cookie + CSRF token only.
 */
export function createAdminSessionRoutes(deps: AppDeps) {
  const app = accountsRouter();
  const rt = deps.auth;
  const expected = digest(deps.adminToken);

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/admin-token",
      tags: ["Auth"],
      summary: "Exchange the ADMIN_TOKEN for an admin session (the admin panel's token login)",
      description: "Rate limited per IP like password logins: after too many wrong tokens, 429 `too_many_attempts` with Retry-After.",
      request: { body: { content: { "application/json": { schema: TokenLogin } }, required: true } },
      responses: { 200: json(SessionSchema, "Logged in as the operator"), 401: err("Wrong token"), 403: err("Operator user blocked"), 429: err("Too many attempts") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const ip = clientIp(c);
      // The per-"account" counter is keyed by IP too: one shared subject would let anyone lock the operator out.
      const subject = `admin-token:${ip ?? "?"}`;
      const tooMany = (s: number) => new AppError("too_many_attempts", `Too many wrong tokens; try again in ${s} s`, { headers: { "retry-after": String(s) } });
      const gate = await rt.throttle.check(subject, ip);
      if (!gate.allowed) throw tooMany(gate.retryAfterSec);
      if (!timingSafeEqual(digest(body.token), expected)) {
        const v = await rt.throttle.fail(subject, ip);
        if (!v.allowed) throw tooMany(v.retryAfterSec);
        throw new AppError("invalid_credentials", "Wrong admin token");
      }
      await rt.throttle.succeed(subject, ip);
      const op = await ensureOperator(deps.db);
      if (!op.ok) throw new AppError(op.reason, op.reason === "user_blocked" ? "The operator user is blocked: token logins are turned off" : "The operator account is blocked");
      rt.maybePrune();
      const s = await rt.tokens();
      const t = await createSession(deps.db, s, op.user, { method: "admin_token", ip, userAgent: c.req.header("user-agent") }, deps.clock.now());
      await writeAudit(deps.db, { actor: "admin:token", action: "admin.session.create", targetType: "session", targetId: t.sessionId, after: { user_id: op.user.id, method: "admin_token", mode: body.session }, ip });
      const base = {
        expires_in: deps.settings.accessTokenTtlSec,
        refresh_expires_in: deps.settings.refreshTokenTtlSec,
        csrf_token: t.csrfToken,
        user: userView(op.user),
        account: accountView(op.account, deps.settings.currency),
      };
      if (body.session === "token") return c.json({ token_type: "Bearer" as const, access_token: t.accessToken, refresh_token: t.refreshToken, ...base }, 200);
      // Same cookies as POST /v1/auth/login (session-auth.ts reads them; refresh/logout work unchanged).
      const now = deps.clock.now();
      const age = (d: Date) => Math.max(1, Math.floor((d.getTime() - now) / 1000));
      const cookie = { httpOnly: true, sameSite: "Lax" as const, secure: rt.cookieSecure };
      setCookie(c, COOKIES.refresh, t.refreshToken, { ...cookie, path: "/v1/auth", maxAge: age(t.refreshExpiresAt) });
      setCookie(c, COOKIES.csrf, t.csrfToken, { ...cookie, httpOnly: false, path: "/", maxAge: age(t.refreshExpiresAt) });
      if (body.session === "web") return c.json({ token_type: "Bearer" as const, access_token: t.accessToken, ...base }, 200);
      setCookie(c, COOKIES.access, t.accessToken, { ...cookie, path: "/", maxAge: age(t.accessExpiresAt) });
      return c.json({ token_type: "cookie" as const, ...base }, 200);
    },
  );
  return app;
}
