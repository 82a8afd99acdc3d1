import { eq, sql } from "drizzle-orm";
import type { StarTransaction } from "grammy/types";
import type { Db } from "../db/client.js";
import { paymentState } from "../db/schema/index.js";
import { creditPayment, findPayment, type CreditNotices, type CreditOptions } from "./credit.js";
import { applyRefund } from "./refunds.js";
import type { StarsApi } from "./telegram-stars.js";

const STATE_KEY = "stars_reconcile";

export interface StarsReconcileReport {
  startedAt: string;
  offsetFrom: number;
  offsetTo: number;
  scanned: number;
  incomingPayments: number;
  alreadyCredited: number;
  /** Charge ids credited by this run: payments whose successful_payment update we never processed. */
  credited: string[];
  /** Charge ids whose refund this run debited. */
  refunded: string[];
  alreadyRefunded: number;
  rejected: { id: string; reason: string }[];
  /** Transactions that are neither invoice payments nor their refunds (withdrawals, ads…). */
  ignored: number;
}

/**
 * Compares the bot's Star transactions with our payments and fixes what a lost update missed.
 * getStarTransactions is chronological, so an offset persisted between runs only ever grows; each
 * run re-reads the last `overlap` transactions as a cheap safety margin. Every fix goes through the
 * same creditPayment / applyRefund as the live path, so a rerun is a no-op.
 */
export async function reconcileStarTransactions(
  db: Db,
  api: StarsApi,
  opts: { referralBasisPoints: bigint; pageSize?: number; overlap?: number; now?: () => number; notices?: CreditNotices },
): Promise<StarsReconcileReport> {
  const pageSize = Math.min(100, Math.max(1, opts.pageSize ?? 100));
  const overlap = opts.overlap ?? 100;
  const state = (await db.select().from(paymentState).where(eq(paymentState.key, STATE_KEY)))[0];
  const stored = Number((state?.value as { offset?: number } | undefined)?.offset ?? 0);
  const start = Math.max(0, stored - overlap);
  const report: StarsReconcileReport = {
    startedAt: new Date(opts.now?.() ?? Date.now()).toISOString(),
    offsetFrom: start,
    offsetTo: start,
    scanned: 0,
    incomingPayments: 0,
    alreadyCredited: 0,
    credited: [],
    refunded: [],
    alreadyRefunded: 0,
    rejected: [],
    ignored: 0,
  };
  let offset = start;
  for (;;) {
    const page = (await api.getStarTransactions({ offset, limit: pageSize })).transactions;
    for (const t of page) {
      await reconcileOne(db, t, report, { ...opts.notices, referralBasisPoints: opts.referralBasisPoints });
      report.scanned++;
      offset++;
      report.offsetTo = offset;
    }
    if (page.length < pageSize) break;
  }
  const value = { offset: Math.max(stored, offset), lastReport: report };
  await db
    .insert(paymentState)
    .values({ key: STATE_KEY, value })
    .onConflictDoUpdate({ target: paymentState.key, set: { value, updatedAt: sql`now()` } });
  return report;
}

async function reconcileOne(db: Db, t: StarTransaction, report: StarsReconcileReport, creditOpts: CreditOptions): Promise<void> {
  const src = t.source;
  if (src && src.type === "user" && src.transaction_type === "invoice_payment") {
    report.incomingPayments++;
    if (!src.invoice_payload) {
      report.rejected.push({ id: t.id, reason: "no_payload" });
      return;
    }
    const r = await creditPayment(
      db,
      {
        provider: "tg_stars",
        providerPaymentId: t.id,
        orderId: src.invoice_payload,
        payerTelegramId: src.user.id,
        currency: "XTR",
        amountMinor: BigInt(t.amount),
        source: "reconcile",
        actor: "system:reconcile",
      },
      creditOpts,
    );
    if (r.status === "credited") report.credited.push(t.id);
    else if (r.status === "duplicate") report.alreadyCredited++;
    else report.rejected.push({ id: t.id, reason: r.reason });
    return;
  }
  const dst = t.receiver;
  if (dst && dst.type === "user" && dst.transaction_type === "invoice_payment") {
    // Outgoing with the original charge id: a refund (ours, or one Telegram made).
    if (!(await findPayment(db, "tg_stars", t.id))) {
      report.rejected.push({ id: t.id, reason: "refund_of_unknown_payment" });
      return;
    }
    const r = await applyRefund(db, { provider: "tg_stars", providerPaymentId: t.id, actor: "system:reconcile", source: "reconcile" });
    if (r.status === "refunded") report.refunded.push(t.id);
    else report.alreadyRefunded++;
    return;
  }
  report.ignored++;
}

export async function lastStarsReconcileReport(db: Db): Promise<StarsReconcileReport | null> {
  const state = (await db.select().from(paymentState).where(eq(paymentState.key, STATE_KEY)))[0];
  return ((state?.value as { lastReport?: StarsReconcileReport } | undefined)?.lastReport ?? null) as StarsReconcileReport | null;
}
