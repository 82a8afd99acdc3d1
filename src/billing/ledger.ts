import { and, eq, sql } from "drizzle-orm";
import { newId } from "../core/ids.js";
import type { DbOrTx } from "../db/client.js";
import { accounts, ledgerEntries } from "../db/schema/index.js";

export interface LedgerPosting {
  accountId: string;
  kind: string;
  /** Signed micros: credit > 0, debit < 0. */
  amountMicros: bigint;
  ref: string;
  reason?: string | null;
  actor?: string;
  meta?: Record<string, unknown> | null;
}

export type PostingResult =
  | { applied: true; entryId: string; balanceAfterMicros: bigint }
  | { applied: false; reason: "duplicate"; entryId: string; balanceAfterMicros: bigint }
  | { applied: false; reason: "account_not_found" }
  | { applied: false; reason: "insufficient_balance"; balanceMicros: bigint };

/**
 * Writes one ledger row and moves the balance by the same amount. (Usage settlements do the same in
 * SQL, fused with the hold release, in `gw_billing_settle_*` — see sql.ts; same (kind, ref) fence.) Must run inside a transaction
 * (`tx`): the row and the balance change commit together or not at all. Idempotent on (kind, ref).
 * With `allowNegative: false` a debit that would take the spendable balance below zero is refused.
 */
export async function postLedgerEntry(
  tx: DbOrTx,
  p: LedgerPosting,
  opts: { allowNegative?: boolean } = {},
): Promise<PostingResult> {
  const existing = await tx
    .select({ id: ledgerEntries.id, balanceAfter: ledgerEntries.balanceAfterMicros })
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.kind, p.kind), eq(ledgerEntries.ref, p.ref)))
    .limit(1);
  if (existing[0]) {
    return { applied: false, reason: "duplicate", entryId: existing[0].id, balanceAfterMicros: existing[0].balanceAfter };
  }
  // Lock the account row so concurrent postings serialize and balance_after is exact.
  const locked = await tx
    .select({ balance: accounts.balanceMicros, reserved: accounts.reservedMicros })
    .from(accounts)
    .where(eq(accounts.id, p.accountId))
    .for("update");
  const acct = locked[0];
  if (!acct) return { applied: false, reason: "account_not_found" };
  if (!opts.allowNegative && p.amountMicros < 0n && acct.balance - acct.reserved + p.amountMicros < 0n) {
    return { applied: false, reason: "insufficient_balance", balanceMicros: acct.balance };
  }
  const entryId = newId("ledger");
  const inserted = await tx
    .insert(ledgerEntries)
    .values({
      id: entryId,
      accountId: p.accountId,
      kind: p.kind,
      amountMicros: p.amountMicros,
      balanceAfterMicros: acct.balance + p.amountMicros,
      ref: p.ref,
      reason: p.reason ?? null,
      actor: p.actor ?? "system",
      meta: p.meta ?? null,
    })
    .onConflictDoNothing()
    .returning({ id: ledgerEntries.id });
  if (!inserted[0]) {
    // A concurrent posting with the same (kind, ref) won the race after our check.
    const again = await tx
      .select({ id: ledgerEntries.id, balanceAfter: ledgerEntries.balanceAfterMicros })
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.kind, p.kind), eq(ledgerEntries.ref, p.ref)))
      .limit(1);
    return { applied: false, reason: "duplicate", entryId: again[0]!.id, balanceAfterMicros: again[0]!.balanceAfter };
  }
  const updated = await tx
    .update(accounts)
    .set({ balanceMicros: sql`${accounts.balanceMicros} + ${p.amountMicros}`, updatedAt: new Date() })
    .where(eq(accounts.id, p.accountId))
    .returning({ balance: accounts.balanceMicros });
  return { applied: true, entryId, balanceAfterMicros: updated[0]!.balance };
}
