import { and, desc, eq, lt, or } from "drizzle-orm";
import { decodeCursor, encodeCursor } from "../accounts/pagination.js";
import type { DbOrTx } from "../db/client.js";
import { paymentOrders } from "../db/schema/index.js";

export type OrderRow = typeof paymentOrders.$inferSelect;

/** One account's top-up orders (every provider, every status), newest first. */
export async function orderHistory(db: DbOrTx, accountId: string, opts: { limit: number; cursor?: string | null }): Promise<{ rows: OrderRow[]; next: string | null }> {
  const c = opts.cursor ? decodeCursor(opts.cursor) : null;
  const conds = [eq(paymentOrders.accountId, accountId)];
  if (c) conds.push(or(lt(paymentOrders.createdAt, c.at), and(eq(paymentOrders.createdAt, c.at), lt(paymentOrders.id, c.id)))!);
  const rows = await db
    .select()
    .from(paymentOrders)
    .where(and(...conds))
    .orderBy(desc(paymentOrders.createdAt), desc(paymentOrders.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > opts.limit && last ? encodeCursor(last.createdAt, last.id) : null };
}
