import { and, eq, inArray, isNull } from "drizzle-orm";
import { randomBase62 } from "../core/ids.js";
import { postLedgerEntry } from "../billing/ledger.js";
import type { Db, Tx } from "../db/client.js";
import { accounts, paymentAnomalies, paymentOrders, payments } from "../db/schema/index.js";
import { recordAnomaly } from "./anomalies.js";
import type { PaymentProvider } from "./config.js";
import { applyRefundTx } from "./refunds.js";

export type PaymentRow = typeof payments.$inferSelect;

/** Ledger `ref` of everything tied to one provider payment: the top-up, its refund, the commission. */
export function paymentRef(provider: PaymentProvider, providerPaymentId: string): string {
  return `${provider}:${providerPaymentId}`;
}

export interface CreditInput {
  provider: PaymentProvider;
  /** telegram_payment_charge_id / YooKassa payment.id: the idempotency key. */
  providerPaymentId: string;
  providerChargeId?: string | null;
  /** Our order id (the invoice payload / YooKassa metadata.order_id). */
  orderId: string;
  /** Telegram payer; checked against the order's owner when both are known. */
  payerTelegramId?: number | null;
  currency: string;
  amountMinor: bigint;
  source: "update" | "reconcile" | "webhook" | "poll";
  actor?: string;
}

export type CreditRejection =
  | "unknown_order"
  | "provider_mismatch"
  | "currency_mismatch"
  | "amount_mismatch"
  | "payer_mismatch";

export type CreditResult =
  | {
      status: "credited";
      paymentId: string;
      orderId: string;
      accountId: string;
      creditsMicros: bigint;
      balanceAfterMicros: bigint;
      inviterAccountId: string | null;
      commissionMicros: bigint;
      duplicateOrder: boolean;
    }
  | { status: "duplicate"; paymentId: string; orderId: string; accountId: string }
  | { status: "rejected"; reason: CreditRejection };

class AlreadyInLedger extends Error {}

/**
 * The one crediting function for every provider and every path (live update, webhook,
 * reconciliation). In one transaction: lock the order, verify it matches what was paid, insert the
 * `payments` row (UNIQUE provider+payment id — the exactly-once anchor), post the ledger credit,
 * mark the order paid and pay the referral commission. A replay finds the row and changes nothing.
 */
/** Told after a credit commits, whichever path credited it (live update, webhook, reconciliation). */
export interface CreditNotices {
  /**
   * A referral commission was paid (the bot messages the inviter, the way low-balance notices go
   * out). A failing notice never undoes or repeats the credit.
   */
  onReferralCommission?: (n: ReferralCommissionNotice) => Promise<void>;
  /** A top-up reached the account: whatever follows its balance (its upstream key's credit limit) catches up. */
  onCredited?: (accountId: string) => void;
}

export interface CreditOptions extends CreditNotices {
  referralBasisPoints: bigint;
}

export interface ReferralCommissionNotice {
  inviterAccountId: string;
  inviteeAccountId: string;
  commissionMicros: bigint;
  paymentId: string;
}

export async function creditPayment(db: Db, input: CreditInput, opts: CreditOptions): Promise<CreditResult> {
  const fast = await findPayment(db, input.provider, input.providerPaymentId);
  if (fast) return { status: "duplicate", paymentId: fast.id, orderId: fast.orderId, accountId: fast.accountId };
  try {
    const r = await db.transaction(async (tx) => creditInTx(tx, input, opts));
    if (r.status === "credited") {
      try {
        opts.onCredited?.(r.accountId);
        if (r.inviterAccountId && r.commissionMicros > 0n) opts.onCredited?.(r.inviterAccountId);
      } catch {
        /* a listener's failure is its own; the credit stands */
      }
    }
    if (r.status === "credited" && r.inviterAccountId && r.commissionMicros > 0n && opts.onReferralCommission) {
      await opts.onReferralCommission({ inviterAccountId: r.inviterAccountId, inviteeAccountId: r.accountId, commissionMicros: r.commissionMicros, paymentId: r.paymentId }).catch(() => undefined);
    }
    return r;
  } catch (e) {
    if (!(e instanceof AlreadyInLedger)) throw e;
    const p = await findPayment(db, input.provider, input.providerPaymentId);
    if (p) return { status: "duplicate", paymentId: p.id, orderId: p.orderId, accountId: p.accountId };
    throw new Error(`ledger has ${paymentRef(input.provider, input.providerPaymentId)} but no payment row`);
  }
}

async function creditInTx(tx: Tx, input: CreditInput, opts: { referralBasisPoints: bigint }): Promise<CreditResult> {
  const ref = paymentRef(input.provider, input.providerPaymentId);
  const reject = async (reason: CreditRejection, details: Record<string, unknown>): Promise<CreditResult> => {
    await recordAnomaly(tx, { provider: input.provider, ref: input.providerPaymentId, reason, details: { ...details, orderId: input.orderId, source: input.source } });
    return { status: "rejected", reason };
  };

  const orders = await tx.select().from(paymentOrders).where(eq(paymentOrders.id, input.orderId)).for("update");
  const order = orders[0];
  if (!order) return reject("unknown_order", {});
  if (order.provider !== input.provider) return reject("provider_mismatch", { orderProvider: order.provider });
  if (order.currency !== input.currency) return reject("currency_mismatch", { expected: order.currency, got: input.currency });
  if (order.amountMinor !== input.amountMinor) return reject("amount_mismatch", { expected: order.amountMinor, got: input.amountMinor });
  if (order.telegramId !== null && input.payerTelegramId != null && order.telegramId !== input.payerTelegramId) {
    return reject("payer_mismatch", { expected: order.telegramId, got: input.payerTelegramId });
  }

  const paymentId = `pay_${randomBase62(20)}`;
  const inserted = await tx
    .insert(payments)
    .values({
      id: paymentId,
      provider: input.provider,
      providerPaymentId: input.providerPaymentId,
      providerChargeId: input.providerChargeId ?? null,
      orderId: order.id,
      accountId: order.accountId,
      payerTelegramId: input.payerTelegramId ?? null,
      currency: input.currency,
      amountMinor: input.amountMinor,
      creditsMicros: order.creditsMicros,
      source: input.source,
    })
    .onConflictDoNothing()
    .returning({ id: payments.id });
  if (!inserted[0]) {
    // A concurrent delivery of the same payment committed first (we waited on the unique index).
    const p = (await tx.select().from(payments).where(and(eq(payments.provider, input.provider), eq(payments.providerPaymentId, input.providerPaymentId))))[0]!;
    return { status: "duplicate", paymentId: p.id, orderId: p.orderId, accountId: p.accountId };
  }

  const actor = input.actor ?? (input.payerTelegramId != null ? `telegram:${input.payerTelegramId}` : "system");
  const posted = await postLedgerEntry(tx, {
    accountId: order.accountId,
    kind: "topup",
    amountMicros: order.creditsMicros,
    ref,
    reason: `top-up ${order.id}`,
    actor,
    meta: { orderId: order.id, paymentId, provider: input.provider, currency: input.currency, amountMinor: input.amountMinor.toString(), source: input.source },
  });
  if (!posted.applied) {
    if (posted.reason === "duplicate") throw new AlreadyInLedger();
    throw new Error(`top-up posting failed: ${posted.reason}`);
  }

  const now = new Date();
  const marked = await tx
    .update(paymentOrders)
    .set({ status: "paid", providerPaymentId: input.providerPaymentId, paidAt: now, updatedAt: now })
    .where(and(eq(paymentOrders.id, order.id), inArray(paymentOrders.status, ["created", "pending", "expired", "canceled"])))
    .returning({ id: paymentOrders.id });
  const duplicateOrder = marked.length === 0;
  if (duplicateOrder) {
    // A second charge for an invoice that was already paid (a forwarded invoice, two pre-checkouts):
    // the money was taken, so the payer is credited and support is told.
    await tx.update(payments).set({ duplicateOrder: true }).where(eq(payments.id, paymentId));
    await recordAnomaly(tx, { provider: input.provider, ref: input.providerPaymentId, reason: "duplicate_order_payment", details: { orderId: order.id, firstPayment: order.providerPaymentId } });
  }

  let inviterAccountId: string | null = null;
  let commissionMicros = 0n;
  if (opts.referralBasisPoints > 0n) {
    const acct = (await tx.select({ referredBy: accounts.referredBy }).from(accounts).where(eq(accounts.id, order.accountId)))[0];
    const inviter = acct?.referredBy ?? null;
    if (inviter && inviter !== order.accountId) {
      const commission = (order.creditsMicros * opts.referralBasisPoints) / 10_000n;
      const inviterRow = (await tx.select({ status: accounts.status }).from(accounts).where(eq(accounts.id, inviter)))[0];
      if (commission > 0n && inviterRow?.status === "active") {
        const c = await postLedgerEntry(tx, {
          accountId: inviter,
          kind: "referral_bonus",
          amountMicros: commission,
          ref,
          reason: `referral commission for ${order.accountId}`,
          actor: "system",
          meta: { inviteeAccountId: order.accountId, paymentId, basisPoints: opts.referralBasisPoints.toString() },
        });
        if (c.applied) {
          inviterAccountId = inviter;
          commissionMicros = commission;
          await tx.update(payments).set({ inviterAccountId, commissionMicros }).where(eq(payments.id, paymentId));
        }
      }
    }
  }

  let balanceAfterMicros = posted.balanceAfterMicros;
  // A refund that arrived before its payment (out-of-order updates) was parked; apply it now.
  const parked = await tx
    .select({ id: paymentAnomalies.id })
    .from(paymentAnomalies)
    .where(
      and(
        eq(paymentAnomalies.provider, input.provider),
        eq(paymentAnomalies.ref, input.providerPaymentId),
        eq(paymentAnomalies.reason, "refund_before_credit"),
        isNull(paymentAnomalies.resolvedAt),
      ),
    );
  if (parked[0]) {
    const payment = (await tx.select().from(payments).where(eq(payments.id, paymentId)).for("update"))[0]!;
    const r = await applyRefundTx(tx, payment, { actor: "system", source: "parked" });
    await tx.update(paymentAnomalies).set({ resolvedAt: now }).where(eq(paymentAnomalies.id, parked[0].id));
    if (r.balanceAfterMicros !== null) balanceAfterMicros = r.balanceAfterMicros;
  }

  return {
    status: "credited",
    paymentId,
    orderId: order.id,
    accountId: order.accountId,
    creditsMicros: order.creditsMicros,
    balanceAfterMicros,
    inviterAccountId,
    commissionMicros,
    duplicateOrder,
  };
}

export async function findPayment(db: Db | Tx, provider: PaymentProvider, providerPaymentId: string): Promise<PaymentRow | null> {
  const rows = await db
    .select()
    .from(payments)
    .where(and(eq(payments.provider, provider), eq(payments.providerPaymentId, providerPaymentId)))
    .limit(1);
  return rows[0] ?? null;
}
