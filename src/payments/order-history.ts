import { and, desc, eq } from "drizzle-orm";
import { keyset, page } from "../accounts/pagination.js";
import type { DbOrTx } from "../db/client.js";
import { paymentOrders } from "../db/schema/index.js";

export type OrderRow = typeof paymentOrders.$inferSelect;

/** One account's top-up orders (every provider, every status), newest first. */
export async function orderHistory(db: DbOrTx, accountId: string, opts: { limit: number; cursor?: string | null }): Promise<{ rows: OrderRow[]; next: string | null }> {
  const conds = [eq(paymentOrders.accountId, accountId)];
  const after = keyset(paymentOrders.createdAt, paymentOrders.id, opts.cursor);
  if (after) conds.push(after);
  const rows = await db
    .select()
    .from(paymentOrders)
    .where(and(...conds))
    .orderBy(desc(paymentOrders.createdAt), desc(paymentOrders.id))
    .limit(opts.limit + 1);
  const p = page(rows, opts.limit, (r) => r);
  return { rows: p.data, next: p.next_cursor };
}
