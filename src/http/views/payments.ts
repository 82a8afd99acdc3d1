import { z } from "@hono/zod-openapi";
import { formatMoney } from "../../core/money.js";
import type { OrderRow, PaymentRow } from "../../payments/admin.js";
import { formatKopecks } from "../../payments/rub.js";

/** Payment orders and payments as the admin API shows them. */

const minor = (amount: bigint, currency: string) => (currency === "XTR" ? amount.toString() : formatKopecks(amount));

export const OrderOut = z
  .object({
    id: z.string(),
    account_id: z.string(),
    provider: z.string(),
    package_id: z.string().nullable(),
    status: z.string(),
    amount: z.string().openapi({ description: "Whole Stars for XTR, rubles for RUB" }),
    currency: z.string(),
    credits: z.string(),
    telegram_id: z.number().nullable(),
    provider_payment_id: z.string().nullable(),
    expires_at: z.string(),
    paid_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("AdminPaymentOrder");

export const PaymentOut = z
  .object({
    id: z.string(),
    provider: z.string(),
    provider_payment_id: z.string(),
    order_id: z.string(),
    account_id: z.string(),
    payer_telegram_id: z.number().nullable(),
    amount: z.string(),
    currency: z.string(),
    credits: z.string(),
    status: z.string(),
    source: z.string(),
    duplicate_order: z.boolean(),
    inviter_account_id: z.string().nullable(),
    commission: z.string().nullable(),
    created_at: z.string(),
    refunded_at: z.string().nullable(),
    refunded_by: z.string().nullable(),
  })
  .openapi("AdminPayment");

export function orderOut(o: OrderRow) {
  return {
    id: o.id,
    account_id: o.accountId,
    provider: o.provider,
    package_id: o.packageId,
    status: o.status,
    amount: minor(o.amountMinor, o.currency),
    currency: o.currency,
    credits: formatMoney(o.creditsMicros),
    telegram_id: o.telegramId,
    provider_payment_id: o.providerPaymentId,
    expires_at: o.expiresAt.toISOString(),
    paid_at: o.paidAt?.toISOString() ?? null,
    created_at: o.createdAt.toISOString(),
  };
}

/** An order as its owner sees it (the client API and the web top-up page). */
export function clientOrderOut(o: OrderRow) {
  return {
    id: o.id,
    provider: o.provider,
    status: o.status,
    amount: minor(o.amountMinor, o.currency),
    currency: o.currency,
    credits: formatMoney(o.creditsMicros),
    created_at: o.createdAt.toISOString(),
    paid_at: o.paidAt?.toISOString() ?? null,
  };
}

export function paymentOut(p: PaymentRow) {
  return {
    id: p.id,
    provider: p.provider,
    provider_payment_id: p.providerPaymentId,
    order_id: p.orderId,
    account_id: p.accountId,
    payer_telegram_id: p.payerTelegramId,
    amount: minor(p.amountMinor, p.currency),
    currency: p.currency,
    credits: formatMoney(p.creditsMicros),
    status: p.status,
    source: p.source,
    duplicate_order: p.duplicateOrder,
    inviter_account_id: p.inviterAccountId,
    commission: p.commissionMicros === null ? null : formatMoney(p.commissionMicros),
    created_at: p.createdAt.toISOString(),
    refunded_at: p.refundedAt?.toISOString() ?? null,
    refunded_by: p.refundedBy,
  };
}
