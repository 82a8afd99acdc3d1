import { and, count, desc, eq, gte, sql, sum } from "drizzle-orm";
import { customerBalance } from "../billing/customer-balance.js";
import type { DbOrTx } from "../db/client.js";
import { payments, refundRequests, requestLogs } from "../db/schema/index.js";

export interface BalanceSummary {
  balanceMicros: bigint;
  reservedMicros: bigint;
  /** balance − reserved: what new requests can still spend. */
  availableMicros: bigint;
  todaySpendMicros: bigint;
  monthSpendMicros: bigint;
}

const startOfUtcDay = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
const startOfUtcMonth = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

/** Balance plus what was charged for requests today and this month (UTC), from the request log. */
export async function balanceSummary(db: DbOrTx, accountId: string, now: Date): Promise<BalanceSummary | null> {
  const a = await customerBalance(db, accountId);
  if (!a) return null;
  const spend = async (since: Date) => {
    const [row] = await db
      .select({ s: sum(requestLogs.priceMicros) })
      .from(requestLogs)
      .where(and(eq(requestLogs.accountId, accountId), gte(requestLogs.createdAt, since)));
    return BigInt(row?.s ?? 0);
  };
  return {
    ...a,
    todaySpendMicros: await spend(startOfUtcDay(now)),
    monthSpendMicros: await spend(startOfUtcMonth(now)),
  };
}

export interface UsageSummary {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  spendMicros: bigint;
  models: { model: string; requests: number; spendMicros: bigint }[];
}

export async function usageSummary(db: DbOrTx, accountId: string, since: Date): Promise<UsageSummary> {
  const where = and(eq(requestLogs.accountId, accountId), gte(requestLogs.createdAt, since));
  const [tot] = await db
    .select({
      n: count(),
      p: sum(requestLogs.promptTokens),
      c: sum(requestLogs.completionTokens),
      s: sum(requestLogs.priceMicros),
    })
    .from(requestLogs)
    .where(where);
  const model = sql<string>`coalesce(${requestLogs.servedModel}, ${requestLogs.requestedModel}, '?')`;
  const rows = await db
    .select({ model, n: count(), s: sum(requestLogs.priceMicros) })
    .from(requestLogs)
    .where(where)
    .groupBy(model)
    .orderBy(desc(count()))
    .limit(5);
  return {
    requests: Number(tot?.n ?? 0),
    promptTokens: Number(tot?.p ?? 0),
    completionTokens: Number(tot?.c ?? 0),
    spendMicros: BigInt(tot?.s ?? 0),
    models: rows.map((r) => ({ model: r.model, requests: Number(r.n), spendMicros: BigInt(r.s ?? 0) })),
  };
}

export type PaymentListItem = typeof payments.$inferSelect;

/** An account's recent credited Stars payments (what /paysupport offers to refund). */
export async function refundablePayments(db: DbOrTx, accountId: string, limit = 5): Promise<PaymentListItem[]> {
  return db
    .select()
    .from(payments)
    .where(and(eq(payments.accountId, accountId), eq(payments.status, "credited"), eq(payments.provider, "tg_stars")))
    .orderBy(desc(payments.createdAt))
    .limit(limit);
}

export type RefundRequestResult =
  | { status: "requested"; requestId: string }
  | { status: "already_requested" | "not_found" | "not_refundable" };

/** /paysupport: one open refund request per payment, for a payment of the caller's own account. */
export async function requestRefund(
  db: DbOrTx,
  p: { accountId: string; paymentId: string; telegramId: number | null; note?: string | null },
): Promise<RefundRequestResult> {
  const pay = (await db.select().from(payments).where(eq(payments.id, p.paymentId)))[0];
  if (!pay || pay.accountId !== p.accountId) return { status: "not_found" };
  if (pay.status !== "credited") return { status: "not_refundable" };
  const id = `rfr_${pay.id.slice(4)}_${Date.now().toString(36)}`;
  const ins = await db
    .insert(refundRequests)
    .values({ id, paymentId: pay.id, accountId: pay.accountId, telegramId: p.telegramId, note: p.note ?? null })
    .onConflictDoNothing()
    .returning({ id: refundRequests.id });
  return ins[0] ? { status: "requested", requestId: ins[0].id } : { status: "already_requested" };
}
