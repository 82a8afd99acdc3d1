import { index, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, micros } from "../columns.js";
import { accounts } from "./accounts.js";

/**
 * Append-only money journal. Every balance change is one row here, written in the same
 * transaction as the balance update; (kind, ref) is unique so a replayed top-up, settlement or
 * refund changes nothing. Invariant: accounts.balance_micros = sum(amount_micros) per account.
 */
export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: text().primaryKey(),
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    /** topup | usage | refund | adjustment | referral_bonus | referral_reversal | payment_refund | … */
    kind: text().notNull(),
    /** Signed: credits positive, debits negative. */
    amountMicros: micros().notNull(),
    balanceAfterMicros: micros().notNull(),
    /** Idempotency reference (request id, payment charge id, admin idempotency key…). */
    ref: text().notNull(),
    reason: text(),
    /** Who caused it: `system`, `admin:<id>`, `user:<id>`, `telegram:<id>`, `key:<id>`. */
    actor: text().notNull().default("system"),
    meta: jsonb().$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("ledger_kind_ref_uq").on(t.kind, t.ref), index("ledger_account_created_idx").on(t.accountId, t.createdAt)],
);
