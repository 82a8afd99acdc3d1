import { bigint, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { createdAt, microsZero, ts } from "../columns.js";
import { accounts, users } from "./accounts.js";

/**
 * One-time e-mail links: address verification and password reset. Only the SHA-256 of the token is
 * stored; a token is spent by the single UPDATE that sets `used_at` (so it works once even when two
 * requests race), and stops working at `expires_at`.
 */
export const emailTokens = pgTable(
  "email_tokens",
  {
    tokenHash: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text({ enum: ["verify_email", "reset_password"] }).notNull(),
    /** The address the link was sent to (verification confirms exactly this one). */
    email: text().notNull(),
    expiresAt: ts().notNull(),
    usedAt: ts(),
    createdAt: createdAt(),
  },
  (t) => [index("email_tokens_user_idx").on(t.userId, t.purpose)],
);

/** A payment whose receipt e-mail was handled (claimed once, so two processes never both send it). */
export const paymentReceipts = pgTable("payment_receipts", {
  paymentId: text().primaryKey(),
  recipients: integer().notNull().default(0),
  sentAt: createdAt(),
});

/**
 * Daily totals of the request log per account, key and model (day in BILLING_TIMEZONE). The
 * retention job folds rows into it before deleting them, so reports over old days stay exact.
 * `api_key_id` is '' for rows without a key.
 */
export const requestLogDaily = pgTable(
  "request_log_daily",
  {
    day: text().notNull(),
    accountId: text().notNull(),
    apiKeyId: text().notNull().default(""),
    model: text().notNull().default(""),
    requests: bigint({ mode: "number" }).notNull().default(0),
    failed: bigint({ mode: "number" }).notNull().default(0),
    promptTokens: bigint({ mode: "number" }).notNull().default(0),
    completionTokens: bigint({ mode: "number" }).notNull().default(0),
    totalTokens: bigint({ mode: "number" }).notNull().default(0),
    priceMicros: microsZero(),
    upstreamCostMicros: microsZero(),
    profitMicros: microsZero(),
  },
  (t) => [primaryKey({ columns: [t.day, t.accountId, t.apiKeyId, t.model] }), index("request_log_daily_account_idx").on(t.accountId, t.day)],
);

/**
 * A dedicated upstream key per account (OpenRouter's key-management API with a provisioning key).
 * The secret is stored encrypted with ENCRYPTION_KEY (routing's secret box); `upstream_hash` is
 * OpenRouter's id for the key, used to update its credit limit, disable or delete it.
 */
export const upstreamCustomerKeys = pgTable("upstream_customer_keys", {
  accountId: text()
    .primaryKey()
    .references(() => accounts.id, { onDelete: "cascade" }),
  provider: text().notNull().default("openrouter"),
  upstreamHash: text().notNull(),
  secretEnc: text().notNull(),
  /** The credit limit last set upstream, USD micros (null = no limit). */
  limitUsdMicros: bigint({ mode: "bigint" }),
  status: text({ enum: ["active", "disabled", "deleted"] }).notNull().default("active"),
  createdAt: createdAt(),
  updatedAt: ts().notNull().defaultNow(),
});
