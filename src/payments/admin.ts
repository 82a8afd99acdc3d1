import { and, count, desc, eq, isNull, lt, sql, type SQL } from "drizzle-orm";
import type { Db, DbOrTx } from "../db/client.js";
import { paymentAnomalies, paymentOrders, payments, refundRequests } from "../db/schema/index.js";

export type OrderRow = typeof paymentOrders.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;
export type RefundRequestRow = typeof refundRequests.$inferSelect;
export type AnomalyRow = typeof paymentAnomalies.$inferSelect;

export interface ListFilter {
  accountId?: string;
  status?: string;
  provider?: string;
  /** Keyset pagination: rows created strictly before this instant. */
  before?: Date;
  limit: number;
}

export async function listOrders(db: DbOrTx, f: ListFilter): Promise<OrderRow[]> {
  const c: SQL[] = [];
  if (f.accountId) c.push(eq(paymentOrders.accountId, f.accountId));
  if (f.status) c.push(eq(paymentOrders.status, f.status as OrderRow["status"]));
  if (f.provider) c.push(eq(paymentOrders.provider, f.provider as OrderRow["provider"]));
  if (f.before) c.push(lt(paymentOrders.createdAt, f.before));
  return db.select().from(paymentOrders).where(and(...c)).orderBy(desc(paymentOrders.createdAt)).limit(f.limit);
}

export async function listPayments(db: DbOrTx, f: ListFilter): Promise<PaymentRow[]> {
  const c: SQL[] = [];
  if (f.accountId) c.push(eq(payments.accountId, f.accountId));
  if (f.status) c.push(eq(payments.status, f.status as PaymentRow["status"]));
  if (f.provider) c.push(eq(payments.provider, f.provider as PaymentRow["provider"]));
  if (f.before) c.push(lt(payments.createdAt, f.before));
  return db.select().from(payments).where(and(...c)).orderBy(desc(payments.createdAt)).limit(f.limit);
}

export async function listRefundRequests(db: DbOrTx, f: { status?: string; limit: number }): Promise<RefundRequestRow[]> {
  return db
    .select()
    .from(refundRequests)
    .where(f.status ? eq(refundRequests.status, f.status as RefundRequestRow["status"]) : undefined)
    .orderBy(desc(refundRequests.createdAt))
    .limit(f.limit);
}

export async function listAnomalies(db: DbOrTx, f: { unresolvedOnly: boolean; limit: number }): Promise<AnomalyRow[]> {
  return db
    .select()
    .from(paymentAnomalies)
    .where(f.unresolvedOnly ? isNull(paymentAnomalies.resolvedAt) : undefined)
    .orderBy(desc(paymentAnomalies.createdAt))
    .limit(f.limit);
}

export async function getPaymentById(db: DbOrTx, id: string): Promise<PaymentRow | null> {
  return (await db.select().from(payments).where(eq(payments.id, id)))[0] ?? null;
}

/** Closes an open /paysupport request without refunding; returns the row before and after, or null. */
export async function rejectRefundRequest(tx: DbOrTx, id: string, actor: string, note: string | null): Promise<{ before: RefundRequestRow; after: RefundRequestRow } | null> {
  const before = (await tx.select().from(refundRequests).where(eq(refundRequests.id, id)).for("update"))[0];
  if (!before || before.status !== "requested") return null;
  const [after] = await tx
    .update(refundRequests)
    .set({ status: "rejected", resolvedAt: new Date(), resolvedBy: actor, note: note ?? before.note })
    .where(eq(refundRequests.id, id))
    .returning();
  return { before, after: after! };
}

export interface PaymentsConsistency {
  /** Payments whose top-up ledger row is missing (must be 0: both are written in one transaction). */
  creditedWithoutLedger: number;
  /** Refunded payments without their refund debit (must be 0). */
  refundedWithoutLedger: number;
  /** Payments stuck in `refunding` (provider call in flight or crashed; retry the refund). */
  refundsInFlight: number;
  unresolvedAnomalies: number;
  openRefundRequests: number;
  ordersByStatus: Record<string, number>;
}

export async function paymentsConsistency(db: Db): Promise<PaymentsConsistency> {
  const one = async (q: SQL) => {
    const r = await db.execute(q);
    const rows = (r as unknown as { rows?: { n: number }[] }).rows ?? (r as unknown as { n: number }[]);
    return Number(rows[0]?.n ?? 0);
  };
  const creditedWithoutLedger = await one(
    sql`select count(*)::int as n from payments p where not exists (select 1 from ledger_entries l where l.kind = 'topup' and l.ref = p.provider || ':' || p.provider_payment_id)`,
  );
  const refundedWithoutLedger = await one(
    sql`select count(*)::int as n from payments p where p.status = 'refunded' and not exists (select 1 from ledger_entries l where l.kind = 'payment_refund' and l.ref = p.provider || ':' || p.provider_payment_id)`,
  );
  const [inFlight] = await db.select({ n: count() }).from(payments).where(eq(payments.status, "refunding"));
  const [anom] = await db.select({ n: count() }).from(paymentAnomalies).where(isNull(paymentAnomalies.resolvedAt));
  const [open] = await db.select({ n: count() }).from(refundRequests).where(eq(refundRequests.status, "requested"));
  const byStatus = await db.select({ s: paymentOrders.status, n: count() }).from(paymentOrders).groupBy(paymentOrders.status);
  return {
    creditedWithoutLedger,
    refundedWithoutLedger,
    refundsInFlight: Number(inFlight?.n ?? 0),
    unresolvedAnomalies: Number(anom?.n ?? 0),
    openRefundRequests: Number(open?.n ?? 0),
    ordersByStatus: Object.fromEntries(byStatus.map((r) => [r.s, Number(r.n)])),
  };
}
