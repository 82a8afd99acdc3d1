import { and, eq } from "drizzle-orm";
import { postLedgerEntry } from "../billing/ledger.js";
import type { Db, Tx } from "../db/client.js";
import { accounts, ledgerEntries, paymentOrders, payments, refundRequests } from "../db/schema/index.js";
import { recordAnomaly } from "./anomalies.js";
import type { PaymentProvider } from "./config.js";

type PaymentRow = typeof payments.$inferSelect;

const ref = (p: { provider: string; providerPaymentId: string }) => `${p.provider}:${p.providerPaymentId}`;

export interface AppliedRefund {
  /** True when this call posted the debit; false when it was already there. */
  applied: boolean;
  debitedMicros: bigint;
  commissionReversedMicros: bigint;
  balanceAfterMicros: bigint | null;
}

/**
 * Posts the refund of one credited payment: the account debit and the reversal of the referral
 * commission, both keyed by the payment's ledger ref so every path (admin refund, /paysupport,
 * `refunded_payment` update, reconciliation) debits exactly once. Balances may go negative:
 * the money has already left (refunds are posted after the provider confirmed them).
 * `payment` must be locked FOR UPDATE by the caller's transaction.
 */
export async function applyRefundTx(
  tx: Tx,
  payment: PaymentRow,
  o: { actor: string; source: string },
): Promise<AppliedRefund> {
  const r = ref(payment);
  const debit = await postLedgerEntry(
    tx,
    {
      accountId: payment.accountId,
      kind: "payment_refund",
      amountMicros: -payment.creditsMicros,
      ref: r,
      reason: `refund of ${payment.provider} payment`,
      actor: o.actor,
      meta: { paymentId: payment.id, orderId: payment.orderId, source: o.source },
    },
    { allowNegative: true },
  );
  let commissionReversedMicros = 0n;
  // Reverse what the crediting transaction actually paid (read back from the ledger).
  const bonus = (
    await tx
      .select({ accountId: ledgerEntries.accountId, amount: ledgerEntries.amountMicros })
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.kind, "referral_bonus"), eq(ledgerEntries.ref, r)))
      .limit(1)
  )[0];
  if (bonus && bonus.amount > 0n) {
    const rev = await postLedgerEntry(
      tx,
      {
        accountId: bonus.accountId,
        kind: "referral_reversal",
        amountMicros: -bonus.amount,
        ref: r,
        reason: `referral commission reversed (refund of ${payment.accountId})`,
        actor: o.actor,
        meta: { paymentId: payment.id, inviteeAccountId: payment.accountId },
      },
      { allowNegative: true },
    );
    if (rev.applied) commissionReversedMicros = bonus.amount;
  }
  const now = new Date();
  if (payment.status !== "refunded") {
    await tx.update(payments).set({ status: "refunded", refundedAt: now, refundedBy: o.actor }).where(eq(payments.id, payment.id));
    await tx
      .update(paymentOrders)
      .set({ status: "refunded", updatedAt: now })
      .where(and(eq(paymentOrders.id, payment.orderId), eq(paymentOrders.providerPaymentId, payment.providerPaymentId)));
    await tx
      .update(refundRequests)
      .set({ status: "done", resolvedAt: now, resolvedBy: o.actor })
      .where(and(eq(refundRequests.paymentId, payment.id), eq(refundRequests.status, "requested")));
  }
  return {
    applied: debit.applied,
    debitedMicros: debit.applied ? payment.creditsMicros : 0n,
    commissionReversedMicros,
    balanceAfterMicros: debit.applied || debit.reason === "duplicate" ? debit.balanceAfterMicros : null,
  };
}

export type ApplyRefundResult =
  | ({ status: "refunded" | "already_refunded"; paymentId: string; accountId: string } & AppliedRefund)
  | { status: "unknown_payment" };

/** Posts a refund the provider reports as done (refunded_payment, reconciliation, YooKassa refund.succeeded). */
export async function applyRefund(
  db: Db,
  p: { provider: PaymentProvider; providerPaymentId: string; actor: string; source: string },
): Promise<ApplyRefundResult> {
  return db.transaction(async (tx) => {
    const row = (
      await tx
        .select()
        .from(payments)
        .where(and(eq(payments.provider, p.provider), eq(payments.providerPaymentId, p.providerPaymentId)))
        .for("update")
    )[0];
    if (!row) {
      // Out of order: park it; creditPayment applies it right after crediting.
      await recordAnomaly(tx, { provider: p.provider, ref: p.providerPaymentId, reason: "refund_before_credit", details: { source: p.source } });
      return { status: "unknown_payment" } as const;
    }
    const r = await applyRefundTx(tx, row, p);
    return { status: r.applied ? "refunded" : "already_refunded", paymentId: row.id, accountId: row.accountId, ...r } as const;
  });
}

/** Outcome of asking the provider to return the money. */
export type GatewayRefundOutcome = { ok: true } | { ok: false; pending: true } | { ok: false; pending?: false; error: string };

/** Provider side of a refund (Telegram refundStarPayment, YooKassa POST /refunds). */
export interface RefundGateway {
  refund(p: PaymentRow): Promise<GatewayRefundOutcome>;
}

export type RefundResult =
  | ({ status: "refunded"; paymentId: string; accountId: string } & AppliedRefund)
  | { status: "already_refunded" | "in_progress" | "not_found" | "pending" }
  | { status: "insufficient_balance"; availableMicros: bigint; neededMicros: bigint }
  | { status: "unsupported"; provider: string }
  | { status: "provider_error"; error: string };

/**
 * Refund initiated by us (admin, /paysupport approval). The payment is claimed (credited →
 * refunding) so two operators can't both call the provider; the provider is asked first and the
 * debit is posted only once it confirmed — if we crash in between, the `refunded_payment` update
 * or the reconciliation job posts the same debit (same ledger key), so nothing is lost or doubled.
 */
export async function refundPayment(
  db: Db,
  gateways: Partial<Record<PaymentProvider, RefundGateway>>,
  p: { paymentId: string; actor: string; requireUnspentBalance?: boolean; retryStuck?: boolean },
): Promise<RefundResult> {
  const claim = await db.transaction(async (tx) => {
    const row = (await tx.select().from(payments).where(eq(payments.id, p.paymentId)).for("update"))[0];
    if (!row) return { status: "not_found" } as const;
    if (row.status === "refunded") return { status: "already_refunded" } as const;
    if (row.status === "refunding" && !p.retryStuck) return { status: "in_progress" } as const;
    if (!gateways[row.provider]) return { status: "unsupported", provider: row.provider } as const;
    if (p.requireUnspentBalance) {
      const a = (await tx.select({ b: accounts.balanceMicros, r: accounts.reservedMicros }).from(accounts).where(eq(accounts.id, row.accountId)))[0]!;
      if (a.b - a.r < row.creditsMicros) return { status: "insufficient_balance", availableMicros: a.b - a.r, neededMicros: row.creditsMicros } as const;
    }
    await tx.update(payments).set({ status: "refunding" }).where(eq(payments.id, row.id));
    return { status: "claimed", row } as const;
  });
  if (claim.status !== "claimed") return claim;

  let outcome: GatewayRefundOutcome;
  try {
    outcome = await gateways[claim.row.provider]!.refund(claim.row);
  } catch (e) {
    outcome = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  if (!outcome.ok && outcome.pending) return { status: "pending" };
  if (!outcome.ok) {
    await db.update(payments).set({ status: "credited" }).where(and(eq(payments.id, claim.row.id), eq(payments.status, "refunding")));
    return { status: "provider_error", error: outcome.error };
  }
  const r = await applyRefund(db, { provider: claim.row.provider, providerPaymentId: claim.row.providerPaymentId, actor: p.actor, source: "refund" });
  if (r.status === "unknown_payment") throw new Error("payment vanished during refund");
  return { ...r, status: "refunded" };
}
