import { and, count, desc, eq, gte, ilike, isNotNull, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { writeAudit } from "../audit/index.js";
import { formatMoney } from "../core/money.js";
import type { Db, DbOrTx } from "../db/client.js";
import { accounts, apiKeys, auditLog, requestLogs, users } from "../db/schema/index.js";
import { escapeLike, type KeysChanged } from "./api-keys.js";
import { decodeCursor, encodeCursor } from "./pagination.js";
import { revokeUserSessions } from "./sessions.js";
import { userView, type AccountRow, type Role, type UserRow } from "./users.js";

/** Admin-side reads and writes over accounts, users, request logs and the audit log. */

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Actor {
  actor: string;
  ip?: string | null;
}

function clampLimit(n: number | undefined, def = 50, max = 500): number {
  return Math.min(Math.max(n ?? def, 1), max);
}

function keyset(createdAt: Parameters<typeof lt>[0], id: Parameters<typeof lt>[0], cursor: string | undefined): SQL | null {
  const c = cursor ? decodeCursor(cursor) : null;
  return c ? or(lt(createdAt, c.at), and(eq(createdAt, c.at), lt(id, c.id)))! : null;
}

function page<T extends { createdAt: Date; id: string }, V>(rows: T[], limit: number, view: (r: T) => V): Page<V> {
  const slice = rows.slice(0, limit);
  const last = slice[slice.length - 1];
  return { data: slice.map(view), next_cursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
}

export function accountView(a: AccountRow, currency: string, extra: { users?: number; keys?: number } = {}) {
  return {
    id: a.id,
    object: "account" as const,
    name: a.name,
    status: a.status,
    balance: formatMoney(a.balanceMicros),
    reserved: formatMoney(a.reservedMicros),
    available: formatMoney(a.balanceMicros - a.reservedMicros),
    currency,
    tariff_id: a.tariffId,
    limits: a.limits,
    low_balance_threshold: a.lowBalanceThresholdMicros === null ? null : formatMoney(a.lowBalanceThresholdMicros),
    referral_code: a.referralCode,
    referred_by: a.referredBy,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
    ...(extra.users !== undefined ? { user_count: extra.users } : {}),
    ...(extra.keys !== undefined ? { key_count: extra.keys } : {}),
  };
}

// ---------------------------------------------------------------- accounts

export interface AccountQuery {
  q?: string;
  status?: "active" | "blocked";
  limit?: number;
  cursor?: string;
}

export async function listAccounts(db: DbOrTx, currency: string, query: AccountQuery = {}) {
  const conds: SQL[] = [];
  if (query.status) conds.push(eq(accounts.status, query.status));
  if (query.q) {
    const like = `%${escapeLike(query.q)}%`;
    // Search by account name/id or by any of its users' email/name/telegram id.
    conds.push(
      or(
        ilike(accounts.name, like),
        eq(accounts.id, query.q),
        sql`exists (select 1 from ${users} where ${users.accountId} = ${accounts.id} and (${users.email} ilike ${like} or ${users.name} ilike ${like} or ${users.telegramId}::text = ${query.q}))`,
      )!,
    );
  }
  const ks = keyset(accounts.createdAt, accounts.id, query.cursor);
  if (ks) conds.push(ks);
  const limit = clampLimit(query.limit);
  const rows = await db
    .select({
      a: accounts,
      users: sql<number>`(select count(*) from ${users} where ${users.accountId} = ${accounts.id})`.mapWith(Number),
      keys: sql<number>`(select count(*) from ${apiKeys} where ${apiKeys.accountId} = ${accounts.id} and ${apiKeys.status} <> 'revoked')`.mapWith(Number),
    })
    .from(accounts)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(accounts.createdAt), desc(accounts.id))
    .limit(limit + 1);
  return page(
    rows.map((r) => ({ ...r, createdAt: r.a.createdAt, id: r.a.id })),
    limit,
    (r) => accountView(r.a, currency, { users: r.users, keys: r.keys }),
  );
}

export async function getAccountDetail(db: DbOrTx, id: string, currency: string) {
  const rows = await db.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  const a = rows[0];
  if (!a) return null;
  const us = await db.select().from(users).where(eq(users.accountId, id)).orderBy(users.createdAt);
  const [kc] = await db.select({ n: count() }).from(apiKeys).where(and(eq(apiKeys.accountId, id), sql`${apiKeys.status} <> 'revoked'`));
  return { ...accountView(a, currency, { users: us.length, keys: kc?.n ?? 0 }), users: us.map(userView) };
}

export interface AccountPatch {
  name?: string;
  status?: "active" | "blocked";
  limits?: Record<string, unknown>;
  lowBalanceThresholdMicros?: bigint | null;
}

export async function updateAccount(db: Db, who: Actor, id: string, patch: AccountPatch): Promise<{ before: AccountRow; after: AccountRow } | null> {
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(accounts).where(eq(accounts.id, id)).for("update").limit(1);
    const before = rows[0];
    if (!before) return null;
    const set: Partial<typeof accounts.$inferInsert> = { updatedAt: new Date() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.limits !== undefined) set.limits = patch.limits;
    if (patch.lowBalanceThresholdMicros !== undefined) set.lowBalanceThresholdMicros = patch.lowBalanceThresholdMicros;
    const [after] = await tx.update(accounts).set(set).where(eq(accounts.id, id)).returning();
    const action = patch.status && patch.status !== before.status ? (patch.status === "blocked" ? "account.block" : "account.unblock") : "account.update";
    await writeAudit(tx, { actor: who.actor, action, targetType: "account", targetId: id, before, after, ip: who.ip });
    return { before, after: after! };
  });
}

// ---------------------------------------------------------------- users

export interface UserQuery {
  q?: string;
  role?: Role;
  status?: "active" | "blocked";
  accountId?: string;
  limit?: number;
  cursor?: string;
}

export async function listUsers(db: DbOrTx, query: UserQuery = {}) {
  const conds: SQL[] = [];
  if (query.role) conds.push(eq(users.role, query.role));
  if (query.status) conds.push(eq(users.status, query.status));
  if (query.accountId) conds.push(eq(users.accountId, query.accountId));
  if (query.q) {
    const like = `%${escapeLike(query.q)}%`;
    conds.push(or(ilike(users.email, like), ilike(users.name, like), eq(users.id, query.q), sql`${users.telegramId}::text = ${query.q}`, eq(users.did, query.q))!);
  }
  const ks = keyset(users.createdAt, users.id, query.cursor);
  if (ks) conds.push(ks);
  const limit = clampLimit(query.limit);
  const rows = await db
    .select()
    .from(users)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(users.createdAt), desc(users.id))
    .limit(limit + 1);
  return page(rows, limit, userView);
}

export interface UserPatch {
  role?: Role;
  status?: "active" | "blocked";
  name?: string | null;
}

/**
 * Role/status/name change, audited. Blocking also ends the user's sessions (their keys stop at the
 * verifier within the key-cache TTL; the caller invalidates this process's cache at once).
 */
export async function updateUser(db: Db, who: Actor, id: string, patch: UserPatch): Promise<{ before: UserRow; after: UserRow } | null> {
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(users).where(eq(users.id, id)).for("update").limit(1);
    const before = rows[0];
    if (!before) return null;
    const set: Partial<typeof users.$inferInsert> = {};
    if (patch.role !== undefined) set.role = patch.role;
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.name !== undefined) set.name = patch.name;
    if (!Object.keys(set).length) return { before, after: before };
    const [after] = await tx.update(users).set(set).where(eq(users.id, id)).returning();
    if (patch.status === "blocked" && before.status !== "blocked") await revokeUserSessions(tx, id, "user_blocked");
    const action =
      patch.status && patch.status !== before.status
        ? patch.status === "blocked"
          ? "user.block"
          : "user.unblock"
        : patch.role && patch.role !== before.role
          ? "user.role"
          : "user.update";
    const strip = (u: UserRow) => ({ ...u, passwordHash: u.passwordHash ? "[set]" : null });
    await writeAudit(tx, { actor: who.actor, action, targetType: "user", targetId: id, before: strip(before), after: strip(after!), ip: who.ip });
    return { before, after: after! };
  });
}

// ---------------------------------------------------------------- request logs

export interface LogQuery {
  accountId?: string;
  keyId?: string;
  model?: string;
  status?: "pending" | "completed" | "failed" | "cancelled";
  providerId?: string;
  /** Only rows whose upstream usage was corrected (true) or not (false). */
  usageAnomaly?: boolean;
  from?: Date;
  to?: Date;
  limit?: number;
  cursor?: string;
}

export function logView(r: typeof requestLogs.$inferSelect) {
  return {
    id: r.id,
    account_id: r.accountId,
    api_key_id: r.apiKeyId,
    endpoint: r.endpoint,
    model: r.requestedModel,
    served_model: r.servedModel,
    provider_id: r.providerId,
    upstream_account_id: r.upstreamAccountId,
    stream: r.stream,
    status: r.status,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    cached_tokens: r.cachedTokens,
    reasoning_tokens: r.reasoningTokens,
    total_tokens: r.totalTokens,
    estimated: r.estimated,
    latency_ms: r.latencyMs,
    ttft_ms: r.ttftMs,
    upstream_status: r.upstreamStatus,
    error_code: r.errorCode,
    usage_anomaly: r.usageAnomaly,
    cost: r.priceMicros === null ? null : formatMoney(r.priceMicros),
    upstream_cost: r.upstreamCostMicros === null ? null : formatMoney(r.upstreamCostMicros),
    profit: r.profitMicros === null ? null : formatMoney(r.profitMicros),
    cache_hit: r.cacheHit,
    attempts: r.attempts,
    created_at: r.createdAt.toISOString(),
    completed_at: r.completedAt?.toISOString() ?? null,
  };
}

export async function listRequestLogs(db: DbOrTx, query: LogQuery = {}) {
  const conds: SQL[] = [];
  if (query.accountId) conds.push(eq(requestLogs.accountId, query.accountId));
  if (query.keyId) conds.push(eq(requestLogs.apiKeyId, query.keyId));
  if (query.model) conds.push(or(eq(requestLogs.requestedModel, query.model), eq(requestLogs.servedModel, query.model))!);
  if (query.status) conds.push(eq(requestLogs.status, query.status));
  if (query.providerId) conds.push(eq(requestLogs.providerId, query.providerId));
  if (query.usageAnomaly !== undefined) conds.push(query.usageAnomaly ? isNotNull(requestLogs.usageAnomaly) : isNull(requestLogs.usageAnomaly));
  if (query.from) conds.push(gte(requestLogs.createdAt, query.from));
  if (query.to) conds.push(lt(requestLogs.createdAt, query.to));
  const ks = keyset(requestLogs.createdAt, requestLogs.id, query.cursor);
  if (ks) conds.push(ks);
  const limit = clampLimit(query.limit, 50, 1000);
  const rows = await db
    .select()
    .from(requestLogs)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(requestLogs.createdAt), desc(requestLogs.id))
    .limit(limit + 1);
  return page(rows, limit, logView);
}

// ---------------------------------------------------------------- audit log

export interface AuditQuery {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
  limit?: number;
  cursor?: string;
}

export async function listAudit(db: DbOrTx, query: AuditQuery = {}) {
  const conds: SQL[] = [];
  if (query.actor) conds.push(eq(auditLog.actor, query.actor));
  if (query.action) conds.push(query.action.endsWith(".*") ? ilike(auditLog.action, `${escapeLike(query.action.slice(0, -1))}%`) : eq(auditLog.action, query.action));
  if (query.targetType) conds.push(eq(auditLog.targetType, query.targetType));
  if (query.targetId) conds.push(eq(auditLog.targetId, query.targetId));
  if (query.from) conds.push(gte(auditLog.createdAt, query.from));
  if (query.to) conds.push(lt(auditLog.createdAt, query.to));
  const ks = keyset(auditLog.createdAt, auditLog.id, query.cursor);
  if (ks) conds.push(ks);
  const limit = clampLimit(query.limit);
  const rows = await db
    .select()
    .from(auditLog)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(limit + 1);
  return page(rows, limit, (r) => ({
    id: r.id,
    actor: r.actor,
    action: r.action,
    target_type: r.targetType,
    target_id: r.targetId,
    before: r.before,
    after: r.after,
    ip: r.ip,
    created_at: r.createdAt.toISOString(),
  }));
}

// ---------------------------------------------------------------- platform stats

export async function platformStats(db: DbOrTx, currency: string, opts: { from?: Date; to?: Date } = {}) {
  const [acc] = await db
    .select({
      accounts: count(),
      active: sql<number>`count(*) filter (where ${accounts.status} = 'active')`.mapWith(Number),
      balance: sql<string>`coalesce(sum(${accounts.balanceMicros}), 0)::text`,
      reserved: sql<string>`coalesce(sum(${accounts.reservedMicros}), 0)::text`,
    })
    .from(accounts);
  const [us] = await db.select({ n: count(), admins: sql<number>`count(*) filter (where ${users.role} = 'admin')`.mapWith(Number) }).from(users);
  const [ks] = await db.select({ n: count() }).from(apiKeys).where(eq(apiKeys.status, "active"));
  const conds: SQL[] = [];
  if (opts.from) conds.push(gte(requestLogs.createdAt, opts.from));
  if (opts.to) conds.push(lt(requestLogs.createdAt, opts.to));
  const [rq] = await db
    .select({
      requests: count(),
      failed: sql<number>`count(*) filter (where ${requestLogs.status} = 'failed')`.mapWith(Number),
      promptTokens: sql<string>`coalesce(sum(${requestLogs.promptTokens}), 0)::text`,
      completionTokens: sql<string>`coalesce(sum(${requestLogs.completionTokens}), 0)::text`,
      revenue: sql<string>`coalesce(sum(${requestLogs.priceMicros}), 0)::text`,
      cost: sql<string>`coalesce(sum(${requestLogs.upstreamCostMicros}), 0)::text`,
      profit: sql<string>`coalesce(sum(${requestLogs.profitMicros}), 0)::text`,
      avgLatency: sql<number | null>`avg(${requestLogs.latencyMs})::int`,
    })
    .from(requestLogs)
    .where(conds.length ? and(...conds) : undefined);
  return {
    currency,
    from: opts.from?.toISOString() ?? null,
    to: opts.to?.toISOString() ?? null,
    accounts: { total: acc?.accounts ?? 0, active: acc?.active ?? 0 },
    users: { total: us?.n ?? 0, admins: us?.admins ?? 0 },
    active_keys: ks?.n ?? 0,
    balances: { total: formatMoney(BigInt(acc?.balance ?? "0")), reserved: formatMoney(BigInt(acc?.reserved ?? "0")) },
    requests: {
      total: rq?.requests ?? 0,
      failed: rq?.failed ?? 0,
      prompt_tokens: Number(rq?.promptTokens ?? 0),
      completion_tokens: Number(rq?.completionTokens ?? 0),
      avg_latency_ms: rq?.avgLatency === null || rq?.avgLatency === undefined ? null : Number(rq.avgLatency),
    },
    revenue: formatMoney(BigInt(rq?.revenue ?? "0")),
    upstream_cost: formatMoney(BigInt(rq?.cost ?? "0")),
    profit: formatMoney(BigInt(rq?.profit ?? "0")),
  };
}

/** The /v1/admin/clients view: users with their account's balance and lifetime usage. */
export async function listClients(db: DbOrTx, currency: string, query: UserQuery = {}) {
  const p = await listUsers(db, query);
  const ids = [...new Set(p.data.map((u) => u.account_id))];
  const out: Array<ReturnType<typeof userView> & { balance: string; currency: string; requests: number; spent: string }> = [];
  const acc = new Map<string, { balance: bigint; requests: number; spent: bigint }>();
  for (const id of ids) {
    const [a] = await db.select({ balance: accounts.balanceMicros }).from(accounts).where(eq(accounts.id, id));
    const [u] = await db
      .select({ n: count(), spent: sql<string>`coalesce(sum(${requestLogs.priceMicros}), 0)::text` })
      .from(requestLogs)
      .where(eq(requestLogs.accountId, id));
    acc.set(id, { balance: a?.balance ?? 0n, requests: u?.n ?? 0, spent: BigInt(u?.spent ?? "0") });
  }
  for (const u of p.data) {
    const a = acc.get(u.account_id)!;
    out.push({ ...u, balance: formatMoney(a.balance), currency, requests: a.requests, spent: formatMoney(a.spent) });
  }
  return { data: out, next_cursor: p.next_cursor };
}

/**
 * Account and user writes with their side effect: blocking (or changing the limits of) an account
 * or a user makes the verifier's cached verdicts of their keys stale, so `onKeysChanged` drops them.
 */
export function accountAdminWrites(db: Db, onKeysChanged: KeysChanged, onStatusChanged?: (accountId: string) => void) {
  return {
    async updateAccount(who: Actor, id: string, patch: AccountPatch) {
      const r = await updateAccount(db, who, id, patch);
      if (r) onKeysChanged({ accountId: id });
      // Blocked or unblocked: what follows the account's state elsewhere (its upstream key) catches up.
      if (r && r.before.status !== r.after.status) onStatusChanged?.(id);
      return r;
    },
    async updateUser(who: Actor, id: string, patch: UserPatch) {
      const r = await updateUser(db, who, id, patch);
      if (r) for (const k of await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.userId, id))) onKeysChanged({ keyId: k.id });
      return r;
    },
  };
}

export type AccountAdminWrites = ReturnType<typeof accountAdminWrites>;
