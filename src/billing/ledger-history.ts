import { and, desc, eq, inArray } from "drizzle-orm";
import { keyset, page } from "../accounts/pagination.js";
import type { DbOrTx } from "../db/client.js";
import { ledgerEntries } from "../db/schema/index.js";

export type LedgerRow = typeof ledgerEntries.$inferSelect;

/** One account's balance changes, newest first (keyset pages over created_at, id). */
export async function ledgerHistory(db: DbOrTx, accountId: string, opts: { limit: number; cursor?: string | null; kinds?: string[] }): Promise<{ rows: LedgerRow[]; next: string | null }> {
  const conds = [eq(ledgerEntries.accountId, accountId)];
  if (opts.kinds) conds.push(inArray(ledgerEntries.kind, opts.kinds));
  const after = keyset(ledgerEntries.createdAt, ledgerEntries.id, opts.cursor);
  if (after) conds.push(after);
  const rows = await db
    .select()
    .from(ledgerEntries)
    .where(and(...conds))
    .orderBy(desc(ledgerEntries.createdAt), desc(ledgerEntries.id))
    .limit(opts.limit + 1);
  const p = page(rows, opts.limit, (r) => r);
  return { rows: p.data, next: p.next_cursor };
}
