import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db/client.js";

export interface CustomerBalance {
  balanceMicros: bigint;
  /** Held for requests in flight on the database path. */
  reservedMicros: bigint;
  /** balance − reserved: what new requests can still spend. */
  availableMicros: bigint;
}

/**
 * The balance as its owner is shown it. `accounts.reserved_micros` also counts the open balance
 * leases (billing/README.md "Balance leases"): a slice of the spendable balance a gateway process
 * parks for its requests, up to half of it, given back within seconds of the last request. That is
 * still the owner's money to spend (the process admits requests against it), so it counts as
 * available here; what a lease's requests in flight hold, and their charges for the ≤ 50 ms before
 * they are applied, show as available until then. Money leaving the account (refunds) keeps using
 * the full reservation.
 */
export async function customerBalance(db: DbOrTx, accountId: string): Promise<CustomerBalance | null> {
  const r = await db.execute(sql`
    select a.balance_micros::text as b,
           (a.reserved_micros - coalesce((select sum(l.amount_micros) from balance_leases l where l.account_id = a.id and l.status = 'open'), 0))::text as r
    from accounts a where a.id = ${accountId}`);
  const row = (r as unknown as { rows: Array<{ b: string; r: string }> }).rows[0];
  if (!row) return null;
  const balanceMicros = BigInt(row.b);
  // Never below zero, whatever the lease rows say (a lease's amount is at most what it reserved).
  const reservedMicros = BigInt(row.r) > 0n ? BigInt(row.r) : 0n;
  return { balanceMicros, reservedMicros, availableMicros: balanceMicros - reservedMicros };
}
