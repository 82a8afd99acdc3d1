import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { checkCsrfToken, principalFromAccessToken } from "../../accounts/sessions.js";
import { AppError } from "../../core/errors.js";
import { looksLikeApiKey } from "../../keys/index.js";
import type { AppEnv, Principal } from "../context.js";
import type { AppDeps } from "../deps.js";
import { ipAllowed } from "../../core/ip.js";
import { clientIp } from "./api-key-auth.js";

export type { Principal };

type AnyCtx = Context<AppEnv>;

export const COOKIES = { access: "lg_at", refresh: "lg_rt", csrf: "lg_csrf", tgLogin: "lg_tg" } as const;
export const CSRF_HEADER = "x-csrf-token";

function sameSecret(a: string, b: string): boolean {
  // Digests first: timingSafeEqual needs equal lengths and must not leak the token's length.
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function bearer(c: AnyCtx): string | null {
  const h = c.req.header("authorization");
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1] ?? null;
}

const REASONS = {
  invalid: "Invalid session token",
  expired: "Session expired: refresh it at POST /v1/auth/refresh",
  revoked: "This session has ended; log in again",
  user_blocked: "This user is blocked",
  account_blocked: "This account is blocked",
} as const;

/**
 * The session of this request, or null when it carries none. A session that is present but bad
 * throws (401/403), as does a cookie session on an unsafe method without the CSRF token
 * (double submit: `x-csrf-token` header = `lg_csrf` cookie = HMAC of the session id).
 */
export async function sessionPrincipal(deps: AppDeps, c: AnyCtx): Promise<Principal | null> {
  const b = bearer(c);
  let token: string | null = null;
  let viaCookie = false;
  if (b && JWT_SHAPE.test(b)) token = b;
  else if (!b) {
    token = getCookie(c, COOKIES.access) ?? null;
    viaCookie = token !== null;
  }
  if (!token) return null;
  const s = await deps.auth.tokens();
  const r = await principalFromAccessToken(deps.db, s, token, deps.clock.now());
  if (!r.ok) {
    if (r.reason === "user_blocked") throw new AppError("user_blocked", REASONS.user_blocked);
    if (r.reason === "account_blocked") throw new AppError("account_blocked", REASONS.account_blocked);
    throw new AppError("invalid_token", REASONS[r.reason]);
  }
  const p = r.principal;
  if (viaCookie && !SAFE_METHODS.has(c.req.method)) {
    const header = c.req.header(CSRF_HEADER);
    const cookie = getCookie(c, COOKIES.csrf);
    if (!header || header !== cookie || !checkCsrfToken(s.secret, p.sessionId, header)) {
      throw new AppError("csrf_failed", `Missing or wrong CSRF token: send the \`${COOKIES.csrf}\` cookie's value in the \`${CSRF_HEADER}\` header`);
    }
  }
  const admin = p.user.role === "admin";
  return {
    kind: "session",
    userId: p.user.id,
    accountId: p.user.accountId,
    role: p.user.role,
    actor: admin ? `admin:${p.user.id}` : `user:${p.user.id}`,
    sessionId: p.sessionId,
    keyId: null,
    viaCookie,
  };
}

/** Routes for logged-in users only (dashboard session). */
export function sessionAuth(deps: AppDeps) {
  return createMiddleware<AppEnv>(async function sessionAuth(c, next) {
    const p = await sessionPrincipal(deps, c);
    if (!p) throw new AppError("missing_api_key", "Log in first: send `Authorization: Bearer <access_token>` or the session cookie");
    c.set("principal", p);
    return next();
  });
}

/**
 * Session, or an API key with the `manage` scope (acts for its own account only), or the
 * ADMIN_TOKEN (any account). Used by the key-management routes.
 */
export function principalAuth(deps: AppDeps) {
  return createMiddleware<AppEnv>(async function principalAuth(c, next) {
    const b = bearer(c);
    if (b && sameSecret(b, deps.adminToken)) {
      c.set("principal", { kind: "admin_token", userId: null, accountId: null, role: "admin", actor: "admin:token", sessionId: null, keyId: null, viaCookie: false });
      return next();
    }
    if (b && looksLikeApiKey(b)) {
      const r = await deps.keys.verify(b);
      if (!r.ok) throw new AppError(r.code, r.code === "invalid_api_key" ? "Incorrect API key provided" : `API key rejected: ${r.code}`);
      if (!r.auth.scopes.includes("manage")) throw new AppError("forbidden", "This API key lacks the `manage` scope");
      if (r.auth.ipAllowlist?.length) {
        const ip = clientIp(c);
        if (!ipAllowed(r.auth.ipAllowlist, ip)) throw new AppError("ip_not_allowed", "This API key may not be used from this IP address");
      }
      c.set("principal", {
        kind: "key",
        userId: r.auth.userId,
        accountId: r.auth.accountId,
        role: "client",
        actor: `key:${r.auth.keyId}`,
        sessionId: null,
        keyId: r.auth.keyId,
        viaCookie: false,
      });
      return next();
    }
    const p = await sessionPrincipal(deps, c);
    if (!p) {
      if (b) throw new AppError("invalid_api_key", "Invalid credentials");
      throw new AppError("missing_api_key", "Authentication required: a session (log in at /v1/auth/login) or an API key with the `manage` scope");
    }
    c.set("principal", p);
    return next();
  });
}

/**
 * For adminAuth: an admin user's session passes the admin API (actor `admin:<userId>`); a valid
 * session of a client is refused with 403, not treated as "no credentials".
 */
export function adminSessionAuthenticator(deps: AppDeps): (c: Context<AppEnv>) => Promise<string | null> {
  return async (c) => {
    const p = await sessionPrincipal(deps, c);
    if (!p) return null;
    if (p.role !== "admin") throw new AppError("forbidden", "This route needs an admin");
    return p.actor;
  };
}

/** The principal the session / principal middleware set; a route mounted without one is a wiring bug. */
export function principalOf(c: Context<AppEnv>): Principal {
  const p = c.get("principal");
  if (!p) throw new AppError("internal_error", "route has no principal middleware");
  return p;
}
