import { sql } from "drizzle-orm";
import { bigint, boolean, index, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, micros, ts } from "../columns.js";
import { accounts } from "./accounts.js";

/**
 * A top-up the gateway offered: a Telegram invoice (the id is the invoice payload) or a YooKassa
 * payment. Prices are snapshotted here at creation (`amount_minor` in the payment currency's
 * smallest unit — whole Stars, kopecks — and `credits_micros` in account currency) so a rate change
 * never alters what an open invoice credits.
 */
export const paymentOrders = pgTable(
  "payment_orders",
  {
    id: text().primaryKey(),
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    userId: text(),
    /** The only Telegram user allowed to pay this invoice (pre-checkout checks it). */
    telegramId: bigint({ mode: "number" }),
    provider: text({ enum: ["tg_stars", "tg_provider", "yookassa", "stripe"] }).notNull(),
    packageId: text(),
    currency: text().notNull(),
    amountMinor: bigint({ mode: "bigint" }).notNull(),
    creditsMicros: micros().notNull(),
    status: text({ enum: ["created", "pending", "paid", "canceled", "expired", "refunded"] })
      .notNull()
      .default("created"),
    /** First payment that settled the order (Telegram charge id / YooKassa payment id). */
    providerPaymentId: text(),
    /** YooKassa Idempotence-Key: generated once per order, reused on retries of the create call. */
    idempotenceKey: text().unique(),
    confirmationUrl: text(),
    expiresAt: ts().notNull(),
    paidAt: ts(),
    meta: jsonb().$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    updatedAt: ts().notNull().defaultNow(),
  },
  (t) => [
    index("payment_orders_account_created_idx").on(t.accountId, t.createdAt),
    uniqueIndex("payment_orders_provider_payment_uq").on(t.provider, t.providerPaymentId),
  ],
);

/**
 * One row per money movement a provider reported (a Telegram charge, a YooKassa payment).
 * UNIQUE(provider, provider_payment_id) is the exactly-once anchor, written in the same transaction
 * as the ledger credit and the order update.
 */
export const payments = pgTable(
  "payments",
  {
    id: text().primaryKey(),
    provider: text({ enum: ["tg_stars", "tg_provider", "yookassa", "stripe"] }).notNull(),
    /** telegram_payment_charge_id / YooKassa payment.id / Stripe session id. */
    providerPaymentId: text().notNull(),
    /** Telegram provider payments: the provider's own id (provider_payment_charge_id). */
    providerChargeId: text(),
    orderId: text().notNull(),
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    payerTelegramId: bigint({ mode: "number" }),
    currency: text().notNull(),
    amountMinor: bigint({ mode: "bigint" }).notNull(),
    creditsMicros: micros().notNull(),
    /** Referral commission paid to `inviter_account_id` in the crediting transaction. */
    inviterAccountId: text(),
    commissionMicros: micros(),
    status: text({ enum: ["credited", "refunding", "refunded"] }).notNull().default("credited"),
    /** How we learned of it: the live update/webhook, or reconciliation. */
    source: text().notNull(),
    /** A second charge for an order that was already paid (credited anyway: the money was taken). */
    duplicateOrder: boolean().notNull().default(false),
    createdAt: createdAt(),
    refundedAt: ts(),
    refundedBy: text(),
  },
  (t) => [
    uniqueIndex("payments_provider_payment_uq").on(t.provider, t.providerPaymentId),
    index("payments_account_created_idx").on(t.accountId, t.createdAt),
    index("payments_order_idx").on(t.orderId),
  ],
);

/** Payments we could not credit automatically (unknown order, amount/payer mismatch…), for support. */
export const paymentAnomalies = pgTable(
  "payment_anomalies",
  {
    id: text().primaryKey(),
    provider: text().notNull(),
    ref: text().notNull(),
    reason: text().notNull(),
    details: jsonb().$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    resolvedAt: ts(),
  },
  (t) => [uniqueIndex("payment_anomalies_ref_uq").on(t.provider, t.ref, t.reason)],
);

/** /paysupport: a user asks for a refund of one payment; an admin approves (refund) or rejects. */
export const refundRequests = pgTable(
  "refund_requests",
  {
    id: text().primaryKey(),
    paymentId: text().notNull(),
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    telegramId: bigint({ mode: "number" }),
    status: text({ enum: ["requested", "done", "rejected", "failed"] }).notNull().default("requested"),
    note: text(),
    createdAt: createdAt(),
    resolvedAt: ts(),
    resolvedBy: text(),
  },
  (t) => [
    // At most one open request per payment; resolved ones stay as history.
    uniqueIndex("refund_requests_open_uq").on(t.paymentId).where(sql`status = 'requested'`),
    index("refund_requests_status_idx").on(t.status, t.createdAt),
  ],
);

/** Small persistent state of the payment jobs (e.g. the getStarTransactions offset). */
export const paymentState = pgTable("payment_state", {
  key: text().primaryKey(),
  value: jsonb().$type<Record<string, unknown>>().notNull(),
  updatedAt: ts().notNull().defaultNow(),
});

/** Low-balance notifier: a row exists while the account is below its threshold and was notified. */
export const lowBalanceAlerts = pgTable("low_balance_alerts", {
  accountId: text()
    .primaryKey()
    .references(() => accounts.id),
  balanceMicros: micros().notNull(),
  notifiedAt: ts().notNull().defaultNow(),
});

/** Webhook update ids already handled (safety net; payment idempotency does not depend on it). */
export const telegramUpdates = pgTable("telegram_updates", {
  updateId: bigint({ mode: "number" }).primaryKey(),
  receivedAt: ts().notNull().defaultNow(),
});
