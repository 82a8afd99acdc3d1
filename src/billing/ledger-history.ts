import { and, desc, eq, inArray, lt, or } from "drizzle-orm";
import { decodeCursor, encodeCursor } from "../accounts/pagination.js";
import type { DbOrTx } from "../db/client.js";
import { ledgerEntries } from "../db/schema/index.js";

export type LedgerRow = typeof ledgerEntries.$inferSelect;

/** One account's balance changes, newest first (keyset pages over created_at, id). */
export async function ledgerHistory(db: DbOrTx, accountId: string, opts: { limit: number; cursor?: string | null; kinds?: string[] }): Promise<{ rows: LedgerRow[]; next: string | null }> {
  const c = opts.cursor ? decodeCursor(opts.cursor) : null;
  const conds = [eq(ledgerEntries.accountId, accountId)];
  if (opts.kinds) conds.push(inArray(ledgerEntries.kind, opts.kinds));
  if (c) conds.push(or(lt(ledgerEntries.createdAt, c.at), and(eq(ledgerEntries.createdAt, c.at), lt(ledgerEntries.id, c.id)))!);
  const rows = await db
    .select()
    .from(ledgerEntries)
    .where(and(...conds))
    .orderBy(desc(ledgerEntries.createdAt), desc(ledgerEntries.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > opts.limit && last ? encodeCursor(last.createdAt, last.id) : null };
}
