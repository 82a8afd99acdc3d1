import { and, count, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { formatMoney } from "../core/money.js";
import type { DbOrTx } from "../db/client.js";
import { accounts, apiKeys, requestLogs, users } from "../db/schema/index.js";
import { listUsers, type UserQuery } from "./admin.js";
import { userView } from "./users.js";

/** Platform totals and the clients list for the admin dashboard. */

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
