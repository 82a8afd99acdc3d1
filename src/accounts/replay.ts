import { and, inArray, isNotNull, lt, or } from "drizzle-orm";
import type { DbOrTx } from "../db/client.js";
import { authLoginRequests, authReplayGuards, authSessions, refreshTokens } from "../db/schema/index.js";

/**
 * Marks a one-time credential as used. Returns false when it was used before (a replay).
 * Atomic: of two concurrent calls with the same (kind, key) exactly one gets true.
 */
export async function consumeOnce(db: DbOrTx, kind: string, key: string, expiresAt: Date): Promise<boolean> {
  const rows = await db
    .insert(authReplayGuards)
    .values({ kind, key, expiresAt })
    .onConflictDoNothing()
    .returning({ key: authReplayGuards.key });
  return rows.length === 1;
}

/**
 * Deletes auth state nobody can use any more: replay markers past their credential's expiry, login
 * requests past their TTL, refresh tokens past expiry. Sessions are kept (audit trail) unless
 * they ended more than `keepSessionsDays` ago. Safe to run from any number of instances.
 */
export async function pruneAuthState(db: DbOrTx, now: Date, keepSessionsDays = 30): Promise<{ guards: number; loginRequests: number; refreshTokens: number; sessions: number }> {
  const guards = await db.delete(authReplayGuards).where(lt(authReplayGuards.expiresAt, now)).returning({ k: authReplayGuards.key });
  const reqs = await db.delete(authLoginRequests).where(lt(authLoginRequests.expiresAt, now)).returning({ id: authLoginRequests.id });
  const toks = await db.delete(refreshTokens).where(lt(refreshTokens.expiresAt, now)).returning({ h: refreshTokens.tokenHash });
  const cutoff = new Date(now.getTime() - keepSessionsDays * 86_400_000);
  const ended = await db
    .select({ id: authSessions.id })
    .from(authSessions)
    .where(or(lt(authSessions.expiresAt, cutoff), and(isNotNull(authSessions.revokedAt), lt(authSessions.revokedAt, cutoff))))
    .limit(10_000);
  const ids = ended.map((r) => r.id);
  if (ids.length) {
    await db.delete(refreshTokens).where(inArray(refreshTokens.sessionId, ids));
    await db.delete(authSessions).where(inArray(authSessions.id, ids));
  }
  return { guards: guards.length, loginRequests: reqs.length, refreshTokens: toks.length, sessions: ids.length };
}
