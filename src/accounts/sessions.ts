import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import { newId } from "../core/ids.js";
import type { Db, DbOrTx } from "../db/client.js";
import { accounts, authSessions, refreshTokens, users } from "../db/schema/index.js";
import { signJwt, verifyJwt, type AccessClaims } from "./jwt.js";
import { deriveKey } from "./secrets.js";
import type { AccountRow, Role, UserRow } from "./users.js";

export interface TokenSettings {
  /** Root secret (JWT_SECRET or the generated one); sub-keys are derived per purpose. */
  secret: string;
  accessTtlSec: number;
  refreshTtlSec: number;
}

export interface IssuedTokens {
  sessionId: string;
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
  /** Double-submit CSRF token bound to the session (same for the session's lifetime). */
  csrfToken: string;
}

export type SessionMethod = "password" | "telegram_widget" | "telegram_deeplink" | "admin_token";

const REFRESH_PREFIX = "rt_";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

function newRefreshToken(): string {
  return REFRESH_PREFIX + randomBytes(32).toString("base64url");
}

export function csrfTokenFor(secret: string, sessionId: string): string {
  return createHmac("sha256", deriveKey(secret, "csrf")).update(sessionId).digest("base64url");
}

/** Constant-time check that `token` is the CSRF token of `sessionId`. */
export function checkCsrfToken(secret: string, sessionId: string, token: string | undefined | null): boolean {
  if (!token) return false;
  const want = Buffer.from(csrfTokenFor(secret, sessionId));
  const got = Buffer.from(token);
  return want.length === got.length && timingSafeEqual(want, got);
}

function accessToken(s: TokenSettings, user: { id: string; accountId: string; role: Role }, sessionId: string, nowMs: number) {
  const iat = Math.floor(nowMs / 1000);
  const claims: AccessClaims = { sub: user.id, sid: sessionId, acc: user.accountId, role: user.role, typ: "access", jti: randomBytes(9).toString("base64url"), iat, exp: iat + s.accessTtlSec };
  return { token: signJwt(claims, deriveKey(s.secret, "access")), expiresAt: new Date(claims.exp * 1000) };
}

export function verifyAccessToken(s: TokenSettings, token: string, nowMs: number) {
  return verifyJwt(token, deriveKey(s.secret, "access"), Math.floor(nowMs / 1000));
}

/** Opens a session (a new refresh-token family) for a user who just proved who they are. */
export async function createSession(
  db: Db,
  s: TokenSettings,
  user: { id: string; accountId: string; role: Role },
  meta: { method: SessionMethod; ip?: string | null; userAgent?: string | null },
  nowMs: number,
): Promise<IssuedTokens> {
  const sessionId = newId("session");
  const refreshToken = newRefreshToken();
  const refreshExpiresAt = new Date(nowMs + s.refreshTtlSec * 1000);
  const now = new Date(nowMs);
  await db.transaction(async (tx) => {
    await tx.insert(authSessions).values({
      id: sessionId,
      userId: user.id,
      method: meta.method,
      ip: meta.ip ?? null,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: refreshExpiresAt,
    });
    await tx.insert(refreshTokens).values({ tokenHash: hashToken(refreshToken), sessionId, expiresAt: refreshExpiresAt, createdAt: now });
    await tx.update(users).set({ lastLoginAt: now }).where(eq(users.id, user.id));
  });
  const at = accessToken(s, user, sessionId, nowMs);
  return { sessionId, accessToken: at.token, accessExpiresAt: at.expiresAt, refreshToken, refreshExpiresAt, csrfToken: csrfTokenFor(s.secret, sessionId) };
}

export type RefreshResult =
  | { ok: true; tokens: IssuedTokens; user: UserRow }
  | { ok: false; reason: "invalid" | "expired" | "reused" | "revoked" | "user_blocked" | "account_blocked" };

/**
 * Rotates a refresh token: the presented one is spent, a new one is issued in the same family.
 * Presenting a spent token again means it was copied — the whole family is revoked, so the thief's
 * and the owner's copies stop working together. The revocation commits even though the call fails.
 */
export async function refreshSession(db: Db, s: TokenSettings, presented: string, nowMs: number): Promise<RefreshResult> {
  if (!presented.startsWith(REFRESH_PREFIX) || presented.length > 128) return { ok: false, reason: "invalid" };
  const hash = hashToken(presented);
  const now = new Date(nowMs);
  const refreshToken = newRefreshToken();
  const refreshExpiresAt = new Date(nowMs + s.refreshTtlSec * 1000);
  const result = await db.transaction(async (tx): Promise<{ ok: false; reason: Exclude<RefreshResult, { ok: true }>["reason"] } | { ok: true; user: UserRow; sessionId: string }> => {
    // The conditional update is the lock: of two concurrent refreshes with one token, one wins.
    const spent = await tx
      .update(refreshTokens)
      .set({ usedAt: now })
      .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.usedAt)))
      .returning({ sessionId: refreshTokens.sessionId, expiresAt: refreshTokens.expiresAt });
    const tok = spent[0];
    if (!tok) {
      const prior = await tx.select({ sessionId: refreshTokens.sessionId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)).limit(1);
      if (!prior[0]) return { ok: false, reason: "invalid" };
      await revokeSession(tx, prior[0].sessionId, "reuse_detected", now);
      return { ok: false, reason: "reused" };
    }
    if (tok.expiresAt.getTime() <= nowMs) return { ok: false, reason: "expired" };
    const rows = await tx
      .select({ session: authSessions, user: users, account: accounts })
      .from(authSessions)
      .innerJoin(users, eq(users.id, authSessions.userId))
      .innerJoin(accounts, eq(accounts.id, users.accountId))
      .where(eq(authSessions.id, tok.sessionId))
      .limit(1);
    const r = rows[0];
    if (!r || r.session.revokedAt) return { ok: false, reason: "revoked" };
    if (r.user.status !== "active") return { ok: false, reason: "user_blocked" };
    if (r.account.status !== "active") return { ok: false, reason: "account_blocked" };
    await tx.insert(refreshTokens).values({ tokenHash: hashToken(refreshToken), sessionId: r.session.id, expiresAt: refreshExpiresAt, createdAt: now });
    await tx.update(authSessions).set({ lastUsedAt: now, expiresAt: refreshExpiresAt }).where(eq(authSessions.id, r.session.id));
    return { ok: true, user: r.user, sessionId: r.session.id };
  });
  if (!result.ok) return result;
  const at = accessToken(s, result.user, result.sessionId, nowMs);
  return {
    ok: true,
    user: result.user,
    tokens: {
      sessionId: result.sessionId,
      accessToken: at.token,
      accessExpiresAt: at.expiresAt,
      refreshToken,
      refreshExpiresAt,
      csrfToken: csrfTokenFor(s.secret, result.sessionId),
    },
  };
}

export async function revokeSession(db: DbOrTx, sessionId: string, reason: string, now = new Date()): Promise<boolean> {
  const r = await db
    .update(authSessions)
    .set({ revokedAt: now, revokeReason: reason })
    .where(and(eq(authSessions.id, sessionId), isNull(authSessions.revokedAt)))
    .returning({ id: authSessions.id });
  return r.length > 0;
}

/** Logs a user out everywhere (block, password change, role change). */
export async function revokeUserSessions(db: DbOrTx, userId: string, reason: string, now = new Date()): Promise<number> {
  const r = await db
    .update(authSessions)
    .set({ revokedAt: now, revokeReason: reason })
    .where(and(eq(authSessions.userId, userId), isNull(authSessions.revokedAt)))
    .returning({ id: authSessions.id });
  return r.length;
}

/** Session of a refresh token (spent or not), for logout by refresh token. */
export async function sessionOfRefreshToken(db: DbOrTx, presented: string): Promise<string | null> {
  const rows = await db.select({ sessionId: refreshTokens.sessionId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(presented))).limit(1);
  return rows[0]?.sessionId ?? null;
}

export interface SessionPrincipal {
  user: UserRow;
  account: AccountRow;
  sessionId: string;
}

export type PrincipalResult = { ok: true; principal: SessionPrincipal } | { ok: false; reason: "invalid" | "expired" | "revoked" | "user_blocked" | "account_blocked" };

/**
 * Access token → the live user. Role, status and the session's revocation are read from the
 * database on every call, so a block, a role change or a logout applies at once, not after 15 min.
 */
export async function principalFromAccessToken(db: DbOrTx, s: TokenSettings, token: string, nowMs: number): Promise<PrincipalResult> {
  const v = verifyAccessToken(s, token, nowMs);
  if (!v.ok) return { ok: false, reason: v.reason === "expired" ? "expired" : "invalid" };
  const rows = await db
    .select({ user: users, account: accounts, revokedAt: authSessions.revokedAt, sessionUser: authSessions.userId })
    .from(authSessions)
    .innerJoin(users, eq(users.id, authSessions.userId))
    .innerJoin(accounts, eq(accounts.id, users.accountId))
    .where(eq(authSessions.id, v.claims.sid))
    .limit(1);
  const r = rows[0];
  if (!r || r.sessionUser !== v.claims.sub) return { ok: false, reason: "invalid" };
  if (r.revokedAt) return { ok: false, reason: "revoked" };
  if (r.user.status !== "active") return { ok: false, reason: "user_blocked" };
  if (r.account.status !== "active") return { ok: false, reason: "account_blocked" };
  return { ok: true, principal: { user: r.user, account: r.account, sessionId: v.claims.sid } };
}
