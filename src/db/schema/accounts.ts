import { sql } from "drizzle-orm";
import { bigint, check, index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, micros, microsZero, ts } from "../columns.js";

/**
 * The billing unit. Balance changes only together with a ledger row (billing module);
 * `reserved_micros` is the sum of open holds, so `balance - reserved` is what can still be spent.
 */
export const accounts = pgTable(
  "accounts",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    status: text({ enum: ["active", "blocked"] }).notNull().default("active"),
    balanceMicros: microsZero(),
    reservedMicros: microsZero(),
    tariffId: text(),
    /** Account-level quotas (billing's QuotaLimits shape). */
    limits: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    lowBalanceThresholdMicros: micros(),
    referralCode: text().unique(),
    referredBy: text(),
    createdAt: createdAt(),
    updatedAt: ts().notNull().defaultNow(),
  },
  (t) => [
    check("accounts_reserved_nonneg", sql`${t.reservedMicros} >= 0`),
    index("accounts_name_idx").on(t.name),
  ],
);

/** People who log in. Roles: `admin` sees everything, `client` only its own account. */
export const users = pgTable(
  "users",
  {
    id: text().primaryKey(),
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    email: text().unique(),
    passwordHash: text(),
    name: text(),
    role: text({ enum: ["client", "admin"] }).notNull().default("client"),
    status: text({ enum: ["active", "blocked"] }).notNull().default("active"),
    /** Telegram user ids exceed 2^31 but fit in a JS number (< 2^53). */
    telegramId: bigint({ mode: "number" }).unique(),
    did: text().unique(),
    locale: text(),
    /** When the user confirmed `email` through the link sent to it; null = not confirmed. */
    emailVerifiedAt: ts(),
    createdAt: createdAt(),
    lastLoginAt: ts(),
  },
  (t) => [index("users_account_idx").on(t.accountId)],
);
