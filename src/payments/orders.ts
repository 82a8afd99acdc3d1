import { and, eq, lt } from "drizzle-orm";
import type { Clock } from "../core/clock.js";
import { newId } from "../core/ids.js";
import type { Db, DbOrTx } from "../db/client.js";
import { accounts, paymentOrders } from "../db/schema/index.js";
import type { PaymentsConfig, TopupPackage } from "./config.js";

export type PaymentOrder = typeof paymentOrders.$inferSelect;

/** A Telegram invoice order for `pkg`, payable only by `telegramId` until `expiresAt`. */
export async function createTelegramOrder(
  db: DbOrTx,
  cfg: PaymentsConfig,
  input: { accountId: string; userId: string | null; telegramId: number; pkg: TopupPackage },
  clock: Clock,
): Promise<PaymentOrder> {
  const now = clock.now();
  const [row] = await db
    .insert(paymentOrders)
    .values({
      id: newId("order"),
      accountId: input.accountId,
      userId: input.userId,
      telegramId: input.telegramId,
      provider: input.pkg.provider,
      packageId: input.pkg.id,
      currency: input.pkg.currency,
      amountMinor: input.pkg.amountMinor,
      creditsMicros: input.pkg.creditsMicros,
      status: "created",
      expiresAt: new Date(now + cfg.orderTtlMs),
      createdAt: new Date(now),
      updatedAt: new Date(now),
    })
    .returning();
  return row!;
}

export type PreCheckoutReason =
  | "unknown_order"
  | "not_payable"
  | "expired"
  | "amount_mismatch"
  | "currency_mismatch"
  | "wrong_payer"
  | "account_blocked"
  | "internal_error";

export type PreCheckoutResult = { ok: true; order: PaymentOrder } | { ok: false; reason: PreCheckoutReason };

/**
 * The pre_checkout_query decision: one indexed read of the order and its account. Nothing is
 * written: the payment can still fail after ok:true, and crediting waits for successful_payment.
 */
export async function validatePreCheckout(
  db: DbOrTx,
  q: { payload: string; currency: string; totalAmount: number; fromId: number },
  clock: Clock,
): Promise<PreCheckoutResult> {
  if (!q.payload.startsWith("ord_") || q.payload.length > 64) return { ok: false, reason: "unknown_order" };
  const rows = await db
    .select({ order: paymentOrders, accountStatus: accounts.status })
    .from(paymentOrders)
    .innerJoin(accounts, eq(accounts.id, paymentOrders.accountId))
    .where(eq(paymentOrders.id, q.payload))
    .limit(1);
  const r = rows[0];
  if (!r) return { ok: false, reason: "unknown_order" };
  const o = r.order;
  if (o.provider !== "tg_stars" && o.provider !== "tg_provider") return { ok: false, reason: "unknown_order" };
  if (o.status !== "created" && o.status !== "pending") return { ok: false, reason: "not_payable" };
  if (o.expiresAt.getTime() <= clock.now()) return { ok: false, reason: "expired" };
  if (o.currency !== q.currency) return { ok: false, reason: "currency_mismatch" };
  if (o.amountMinor !== BigInt(q.totalAmount)) return { ok: false, reason: "amount_mismatch" };
  if (o.telegramId !== null && o.telegramId !== q.fromId) return { ok: false, reason: "wrong_payer" };
  if (r.accountStatus !== "active") return { ok: false, reason: "account_blocked" };
  return { ok: true, order: o };
}

/** Unpaid orders past their expiry become `expired` (kept for the record; a late payment still credits). */
export async function expireStaleOrders(db: Db, clock: Clock): Promise<number> {
  const rows = await db
    .update(paymentOrders)
    .set({ status: "expired", updatedAt: new Date(clock.now()) })
    .where(and(eq(paymentOrders.status, "created"), lt(paymentOrders.expiresAt, new Date(clock.now()))))
    .returning({ id: paymentOrders.id });
  return rows.length;
}

/** An order whose invoice could not be sent is canceled at once, so no unpaid order is left waiting. */
export async function cancelOrder(db: DbOrTx, orderId: string, clock: Clock): Promise<void> {
  await db
    .update(paymentOrders)
    .set({ status: "canceled", updatedAt: new Date(clock.now()) })
    .where(and(eq(paymentOrders.id, orderId), eq(paymentOrders.status, "created")));
}
