import { ipOrCidrProblem } from "../core/ip.js";
import { and, desc, eq, ilike, inArray, or, sql, type SQL } from "drizzle-orm";
import { writeAudit } from "../audit/index.js";
import type { Db, DbOrTx } from "../db/client.js";
import { apiKeys, requestLogs } from "../db/schema/index.js";
import { createApiKey, generateApiKey, maskKey, type CreateKeyInput } from "../keys/index.js";
import { clampLimit, keyset, page } from "./pagination.js";

/**
 * Key management for owners (scoped to their account) and admins (any account). Every query of a
 * client carries `account_id = <theirs>`, so another account's key id is simply not found (404):
 * no 403, nothing that says the key exists.
 */
export type KeyRow = typeof apiKeys.$inferSelect;

/** `accountId: null` = admin scope (every account). */
export interface Scope {
  accountId: string | null;
  actor: string;
  ip?: string | null;
}

export const KEY_SCOPES = ["inference", "manage"] as const;

export function keyView(k: KeyRow) {
  return {
    id: k.id,
    object: "api_key" as const,
    account_id: k.accountId,
    user_id: k.userId,
    name: k.name,
    key: maskKey(k.start),
    start: k.start,
    status: k.status,
    scopes: k.scopes,
    allowed_models: k.allowedModels ?? null,
    ip_allowlist: k.ipAllowlist ?? null,
    limits: k.limits,
    rate_limits: k.rateLimits ?? null,
    options: k.options,
    expires_at: k.expiresAt?.toISOString() ?? null,
    previous_key_valid_until: k.previousHash && k.previousExpiresAt ? k.previousExpiresAt.toISOString() : null,
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    created_at: k.createdAt.toISOString(),
    revoked_at: k.revokedAt?.toISOString() ?? null,
  };
}
export type KeyView = ReturnType<typeof keyView>;

/** Audit snapshot: never the hashes. */
function snap(k: KeyRow) {
  const { keyHash: _h, previousHash: _p, ...rest } = k;
  return rest;
}

function scoped(scope: Scope, id: string): SQL {
  return scope.accountId ? and(eq(apiKeys.id, id), eq(apiKeys.accountId, scope.accountId))! : eq(apiKeys.id, id);
}

export interface ListKeysQuery {
  accountId?: string;
  status?: "active" | "disabled" | "revoked";
  q?: string;
  limit?: number;
  cursor?: string;
}

export async function listKeys(db: DbOrTx, scope: Scope, query: ListKeysQuery = {}): Promise<{ data: KeyView[]; next_cursor: string | null }> {
  const conds: SQL[] = [];
  const accountId = scope.accountId ?? query.accountId;
  if (accountId) conds.push(eq(apiKeys.accountId, accountId));
  if (query.status) conds.push(eq(apiKeys.status, query.status));
  if (query.q) conds.push(or(ilike(apiKeys.name, `%${escapeLike(query.q)}%`), eq(apiKeys.id, query.q), ilike(apiKeys.start, `${escapeLike(query.q)}%`))!);
  const after = keyset(apiKeys.createdAt, apiKeys.id, query.cursor);
  if (after) conds.push(after);
  const limit = clampLimit(query.limit);
  const rows = await db
    .select()
    .from(apiKeys)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(limit + 1);
  return page(rows, limit, keyView);
}

export async function getKey(db: DbOrTx, scope: Scope, id: string): Promise<KeyRow | null> {
  const rows = await db.select().from(apiKeys).where(scoped(scope, id)).limit(1);
  return rows[0] ?? null;
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (m) => `\\${m}`);
}

/** What an admin or a client may set on a key: the creation fields but its owner, and its status. */
export interface KeyPatch extends Omit<CreateKeyInput, "accountId" | "userId"> {
  status?: "active" | "disabled";
}

/** The creation input for a new key described by a validated patch (unset fields take the key defaults). */
export function newKeyInput(accountId: string, patch: KeyPatch, userId: string | null = null): CreateKeyInput {
  return {
    accountId,
    userId,
    name: patch.name ?? "",
    scopes: patch.scopes,
    allowedModels: patch.allowedModels ?? null,
    ipAllowlist: patch.ipAllowlist ?? null,
    limits: patch.limits,
    rateLimits: patch.rateLimits ?? null,
    options: patch.options,
    expiresAt: patch.expiresAt ?? null,
  };
}

/** Null when acceptable, else the problem (param, message). */
export function keyPatchProblem(p: KeyPatch): { param: string; message: string } | null {
  if (p.scopes) {
    const bad = p.scopes.find((s) => !(KEY_SCOPES as readonly string[]).includes(s));
    if (bad) return { param: "scopes", message: `unknown scope \`${bad}\` (allowed: ${KEY_SCOPES.join(", ")})` };
  }
  if (p.ipAllowlist) {
    const bad = p.ipAllowlist.find((ip) => ipOrCidrProblem(ip) !== null);
    if (bad) return { param: "ip_allowlist", message: `\`${bad}\` is not an IP address or CIDR range` };
  }
  if (p.allowedModels && p.allowedModels.some((m) => !m.trim())) return { param: "allowed_models", message: "model ids must not be empty" };
  return null;
}

export type KeyChange = { ok: true; before: KeyRow; after: KeyRow } | { ok: false; reason: "not_found" | "revoked" };

export async function updateKey(db: Db, scope: Scope, id: string, patch: KeyPatch): Promise<KeyChange> {
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(apiKeys).where(scoped(scope, id)).for("update").limit(1);
    const before = rows[0];
    if (!before) return { ok: false, reason: "not_found" } as const;
    if (before.status === "revoked") return { ok: false, reason: "revoked" } as const;
    const set: Partial<typeof apiKeys.$inferInsert> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.scopes !== undefined) set.scopes = [...new Set(patch.scopes)];
    if (patch.allowedModels !== undefined) set.allowedModels = patch.allowedModels;
    if (patch.ipAllowlist !== undefined) set.ipAllowlist = patch.ipAllowlist;
    if (patch.limits !== undefined) set.limits = patch.limits;
    if (patch.rateLimits !== undefined) set.rateLimits = patch.rateLimits;
    if (patch.options !== undefined) set.options = patch.options;
    if (patch.expiresAt !== undefined) set.expiresAt = patch.expiresAt;
    if (Object.keys(set).length === 0) return { ok: true, before, after: before } as const;
    const [after] = await tx.update(apiKeys).set(set).where(eq(apiKeys.id, id)).returning();
    await writeAudit(tx, { actor: scope.actor, action: "key.update", targetType: "api_key", targetId: id, before: snap(before), after: snap(after!), ip: scope.ip });
    return { ok: true, before, after: after! } as const;
  });
}

export async function revokeKey(db: Db, scope: Scope, id: string, now = new Date()): Promise<KeyChange> {
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(apiKeys).where(scoped(scope, id)).for("update").limit(1);
    const before = rows[0];
    if (!before) return { ok: false, reason: "not_found" } as const;
    if (before.status === "revoked") return { ok: true, before, after: before } as const;
    // The rotated-out secret dies with the key.
    const [after] = await tx
      .update(apiKeys)
      .set({ status: "revoked", revokedAt: now, previousExpiresAt: before.previousHash ? now : null })
      .where(eq(apiKeys.id, id))
      .returning();
    await writeAudit(tx, { actor: scope.actor, action: "key.revoke", targetType: "api_key", targetId: id, before: snap(before), after: snap(after!), ip: scope.ip });
    return { ok: true, before, after: after! } as const;
  });
}

export type RotateResult = { ok: true; key: string; after: KeyRow } | { ok: false; reason: "not_found" | "revoked" };

/**
 * New secret for the same key id (settings, limits and usage history stay). The old secret keeps
 * working for `graceSec` (0 = dies now); only one previous secret is kept, so rotating again
 * within the grace period ends the older one at once.
 */
export async function rotateKey(db: Db, scope: Scope, id: string, graceSec: number, now = new Date()): Promise<RotateResult> {
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(apiKeys).where(scoped(scope, id)).for("update").limit(1);
    const before = rows[0];
    if (!before) return { ok: false, reason: "not_found" } as const;
    if (before.status === "revoked") return { ok: false, reason: "revoked" } as const;
    const g = generateApiKey();
    const [after] = await tx
      .update(apiKeys)
      .set({
        keyHash: g.hash,
        start: g.start,
        previousHash: graceSec > 0 ? before.keyHash : null,
        previousExpiresAt: graceSec > 0 ? new Date(now.getTime() + graceSec * 1000) : null,
      })
      .where(eq(apiKeys.id, id))
      .returning();
    await writeAudit(tx, {
      actor: scope.actor,
      action: "key.rotate",
      targetType: "api_key",
      targetId: id,
      before: { start: before.start },
      after: { start: g.start, grace_sec: graceSec },
      ip: scope.ip,
    });
    return { ok: true, key: g.secret, after: after! } as const;
  });
}

/** Creates a key in the scope's account (or `accountId` for admins) and audits it. */
export async function issueKey(db: Db, scope: Scope, input: CreateKeyInput): Promise<{ key: string; row: KeyRow }> {
  const accountId = scope.accountId ?? input.accountId;
  return db.transaction(async (tx) => {
    const created = await createApiKey(tx, { ...input, accountId });
    const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.id, created.id));
    await writeAudit(tx, { actor: scope.actor, action: "key.create", targetType: "api_key", targetId: created.id, after: snap(row!), ip: scope.ip });
    return { key: created.key, row: row! };
  });
}

/** Per-key usage totals from the request log (for `list-keys --stats` and the dashboard). */
export async function keyUsageStats(db: DbOrTx, keyIds: string[]): Promise<Map<string, { requests: number; tokens: number; priceMicros: bigint; lastAt: Date | null }>> {
  const out = new Map<string, { requests: number; tokens: number; priceMicros: bigint; lastAt: Date | null }>();
  if (!keyIds.length) return out;
  const rows = await db
    .select({
      keyId: requestLogs.apiKeyId,
      requests: sql<string>`count(*)::text`,
      tokens: sql<string>`coalesce(sum(${requestLogs.totalTokens}), 0)::text`,
      price: sql<string>`coalesce(sum(${requestLogs.priceMicros}), 0)::text`,
      lastAt: sql<Date | null>`max(${requestLogs.createdAt})`.mapWith(requestLogs.createdAt),
    })
    .from(requestLogs)
    .where(inArray(requestLogs.apiKeyId, keyIds))
    .groupBy(requestLogs.apiKeyId);
  for (const r of rows) {
    if (r.keyId) out.set(r.keyId, { requests: Number(r.requests), tokens: Number(r.tokens), priceMicros: BigInt(r.price), lastAt: r.lastAt ?? null });
  }
  return out;
}

/** Filter of the verified-key cache entries a write made stale (nothing: all of them). */
export type KeysChanged = (filter?: { keyId?: string; accountId?: string }) => void;

/**
 * The key writes with their side effect: after a change commits, `onKeysChanged` drops the cached
 * verdicts of the keys it touched (KeyVerifier.invalidate), so a revoked key stops at once.
 */
export function keyWrites(db: Db, onKeysChanged: KeysChanged) {
  const touched = <R extends { ok: boolean }>(id: string, r: R): R => {
    if (r.ok) onKeysChanged({ keyId: id });
    return r;
  };
  return {
    issueKey: (scope: Scope, input: CreateKeyInput) => issueKey(db, scope, input),
    updateKey: async (scope: Scope, id: string, patch: KeyPatch) => touched(id, await updateKey(db, scope, id, patch)),
    revokeKey: async (scope: Scope, id: string, now?: Date) => touched(id, await revokeKey(db, scope, id, now)),
    rotateKey: async (scope: Scope, id: string, graceSec: number, now?: Date) => touched(id, await rotateKey(db, scope, id, graceSec, now)),
  };
}

export type KeyWrites = ReturnType<typeof keyWrites>;

/** The key whose current secret hashes to `hash` (admin lookup of a leaked secret), or null. */
export async function findKeyByHash(db: DbOrTx, hash: string): Promise<KeyRow | null> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.keyHash, hash)).limit(1);
  return row ?? null;
}
