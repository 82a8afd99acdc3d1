import { and, count, desc, eq, ilike, or, sql, type SQL } from "drizzle-orm";
import { writeAudit } from "../audit/index.js";
import { formatMoney } from "../core/money.js";
import type { Db, DbOrTx } from "../db/client.js";
import { accounts, apiKeys, users } from "../db/schema/index.js";
import { escapeLike, type KeysChanged } from "./api-keys.js";
import { clampLimit, keyset, page } from "./pagination.js";
import { revokeUserSessions } from "./sessions.js";
import { userView, type AccountRow, type Role, type UserRow } from "./users.js";

/** Admin-side reads and writes over accounts and users (request and audit logs: admin-logs.ts; totals: admin-stats.ts). */

export interface Actor {
  actor: string;
  ip?: string | null;
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
