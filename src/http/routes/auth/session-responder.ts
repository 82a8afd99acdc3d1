import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { accountView } from "../../../accounts/admin.js";
import { checkCsrfToken, createSession, sessionOfRefreshToken, type IssuedTokens, type SessionMethod } from "../../../accounts/sessions.js";
import { userView, type AccountRow, type UserRow } from "../../../accounts/users.js";
import { AppError } from "../../../core/errors.js";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { COOKIES, CSRF_HEADER } from "../../middleware/session-auth.js";

type Ctx = Context<AppEnv>;

export const SessionMode = z.enum(["token", "cookie", "web"]).default("token").openapi({
  description:
    "`token`: tokens in the body (API clients). `cookie`: httpOnly cookies + a CSRF token (browsers). `web`: the access token in the body (the page keeps it in memory), the refresh token only as an httpOnly cookie + a CSRF token (the dashboard).",
});

/** How a login answers: the session's cookies and body in the caller's mode, shared by every login route. */
export function sessionResponder(deps: AppDeps) {
  const rt = deps.auth;
  const now = () => deps.clock.now();
  const cookieBase = { httpOnly: true, sameSite: "Lax" as const, secure: rt.cookieSecure };

  function setSessionCookies(c: Ctx, t: IssuedTokens) {
    const accessAge = Math.max(1, Math.floor((t.accessExpiresAt.getTime() - now()) / 1000));
    setCookie(c, COOKIES.access, t.accessToken, { ...cookieBase, path: "/", maxAge: accessAge });
    setRefreshCookies(c, t);
  }

  function setRefreshCookies(c: Ctx, t: IssuedTokens) {
    const refreshAge = Math.max(1, Math.floor((t.refreshExpiresAt.getTime() - now()) / 1000));
    // The refresh cookie travels only to the auth endpoints.
    setCookie(c, COOKIES.refresh, t.refreshToken, { ...cookieBase, path: "/v1/auth", maxAge: refreshAge });
    // Readable by the page's JS: it echoes it in x-csrf-token (double submit).
    setCookie(c, COOKIES.csrf, t.csrfToken, { ...cookieBase, httpOnly: false, path: "/", maxAge: refreshAge });
  }

  function clearSessionCookies(c: Ctx) {
    deleteCookie(c, COOKIES.access, { path: "/", secure: rt.cookieSecure });
    deleteCookie(c, COOKIES.refresh, { path: "/v1/auth", secure: rt.cookieSecure });
    deleteCookie(c, COOKIES.csrf, { path: "/", secure: rt.cookieSecure });
  }

  function sessionBody(c: Ctx, t: IssuedTokens, user: UserRow, account: AccountRow, mode: "token" | "cookie" | "web") {
    const base = {
      expires_in: deps.settings.accessTokenTtlSec,
      refresh_expires_in: deps.settings.refreshTokenTtlSec,
      csrf_token: t.csrfToken,
      user: userView(user),
      account: accountView(account, deps.settings.currency),
    };
    if (mode === "cookie") {
      setSessionCookies(c, t);
      return { token_type: "cookie" as const, ...base };
    }
    if (mode === "web") {
      // No access cookie: the page holds the access token in memory and sends it as Bearer, so
      // only the refresh/logout calls ride on cookies (and those need the CSRF header).
      setRefreshCookies(c, t);
      return { token_type: "Bearer" as const, access_token: t.accessToken, ...base };
    }
    return { token_type: "Bearer" as const, access_token: t.accessToken, refresh_token: t.refreshToken, ...base };
  }

  async function openSession(c: Ctx, user: UserRow, method: SessionMethod) {
    rt.maybePrune();
    const s = await rt.tokens();
    return createSession(deps.db, s, user, { method, ip: clientIp(c), userAgent: c.req.header("user-agent") }, now());
  }

  /** Cookie-carried refresh/logout are unsafe methods: same double-submit rule as other cookie sessions. */
  async function requireCsrfForRefreshCookie(c: Ctx, refreshToken: string) {
    const s = await rt.tokens();
    const sid = await sessionOfRefreshToken(deps.db, refreshToken);
    const header = c.req.header(CSRF_HEADER);
    if (!sid || !header || header !== getCookie(c, COOKIES.csrf) || !checkCsrfToken(s.secret, sid, header)) {
      throw new AppError("csrf_failed", `Missing or wrong CSRF token: send the \`${COOKIES.csrf}\` cookie's value in the \`${CSRF_HEADER}\` header`);
    }
  }

  return { cookieBase, setSessionCookies, clearSessionCookies, sessionBody, openSession, requireCsrfForRefreshCookie };
}
