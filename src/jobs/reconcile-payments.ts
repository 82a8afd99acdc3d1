import { lt } from "drizzle-orm";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { telegramUpdates } from "../db/schema/index.js";
import type { PaymentsConfig } from "../payments/config.js";
import type { CreditNotices } from "../payments/credit.js";
import { expireStaleOrders } from "../payments/orders.js";
import { reconcileStarTransactions, type StarsReconcileReport } from "../payments/stars-reconcile.js";
import type { StarsApi } from "../payments/telegram-stars.js";
import { pollPendingYooKassaOrders, type YooKassaClient } from "../payments/yookassa.js";

export interface PaymentsReconcileDeps {
  db: Db;
  cfg: PaymentsConfig;
  clock: Clock;
  logger: Logger;
  /** Bot API (getStarTransactions); null when the bot is off. */
  stars: StarsApi | null;
  yookassa: YooKassaClient | null;
  /** Told of every payment a pass credits (the bot's referral notice, upstream key limits). */
  notices?: CreditNotices;
}

export interface PaymentsReconcileRun {
  expiredOrders: number;
  stars: StarsReconcileReport | null;
  yookassa: { checked: number; credited: number } | null;
  prunedUpdates: number;
}

/**
 * One reconciliation pass: expire stale invoices, replay Star transactions whose updates we lost
 * (and refunds Telegram made), ask YooKassa about web payments still pending, prune the webhook
 * redelivery filter. Every fix goes through the idempotent crediting/refund functions.
 */
export async function reconcilePayments(d: PaymentsReconcileDeps): Promise<PaymentsReconcileRun> {
  const expiredOrders = await expireStaleOrders(d.db, d.clock);
  let stars: StarsReconcileReport | null = null;
  if (d.stars) {
    try {
      stars = await reconcileStarTransactions(d.db, d.stars, { referralBasisPoints: d.cfg.referralBasisPoints, now: () => d.clock.now(), notices: d.notices });
    } catch (e) {
      d.logger.error({ err: e }, "stars reconciliation failed");
    }
  }
  const yookassa = d.yookassa ? await pollPendingYooKassaOrders(d.db, d.yookassa, d.cfg, d.clock, { notices: d.notices }) : null;
  const pruned = await d.db
    .delete(telegramUpdates)
    .where(lt(telegramUpdates.receivedAt, new Date(d.clock.now() - 48 * 3600_000)))
    .returning({ id: telegramUpdates.updateId });
  return { expiredOrders, stars, yookassa, prunedUpdates: pruned.length };
}

/** Runs once shortly after start-up, then every `intervalMs`; runs never overlap. */
export function startPaymentsReconciler(d: PaymentsReconcileDeps, intervalMs: number): { stop(): void; runNow(): Promise<PaymentsReconcileRun> } {
  let running: Promise<PaymentsReconcileRun> | null = null;
  const runNow = () => {
    running ??= reconcilePayments(d).finally(() => {
      running = null;
    });
    return running;
  };
  const tick = () => {
    runNow()
      .then((r) => {
        const s = r.stars;
        if (r.expiredOrders || (s && (s.credited.length || s.refunded.length || s.rejected.length)) || r.yookassa?.credited) {
          d.logger.info({ expiredOrders: r.expiredOrders, starsCredited: s?.credited, starsRefunded: s?.refunded, starsRejected: s?.rejected, yookassa: r.yookassa }, "payments reconciliation");
        }
      })
      .catch((e) => d.logger.error({ err: e }, "payments reconciliation failed"));
  };
  const first = setTimeout(tick, 5_000);
  first.unref();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
    runNow,
  };
}
