import { and, eq, isNotNull } from "drizzle-orm";
import { accountTelegramChats } from "../accounts/telegram-user.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { accounts, lowBalanceAlerts } from "../db/schema/index.js";

/** Delivers one low-balance notice to one Telegram chat (the bot provides it). */
export type LowBalanceNotify = (chatId: number, locale: string | null, availableMicros: bigint, thresholdMicros: bigint) => Promise<void>;

export interface LowBalanceRun {
  checked: number;
  notified: number;
  rearmed: number;
}

/**
 * One pass: an account whose spendable balance (balance − reserved) fell below its
 * accounts.low_balance_threshold_micros is told once per crossing; the alert row is the "told"
 * flag and is removed when the balance is back at or above the threshold, re-arming the alert.
 */
/** The e-mail channel: sends to the account's confirmed addresses, returns how many were sent. */
export type LowBalanceMail = (accountId: string, availableMicros: bigint, thresholdMicros: bigint) => Promise<number>;

export async function checkLowBalances(db: Db, notify: LowBalanceNotify | null, logger: Logger, mail?: LowBalanceMail): Promise<LowBalanceRun> {
  const rows = await db
    .select({
      id: accounts.id,
      balance: accounts.balanceMicros,
      reserved: accounts.reservedMicros,
      threshold: accounts.lowBalanceThresholdMicros,
      alerted: lowBalanceAlerts.accountId,
    })
    .from(accounts)
    .leftJoin(lowBalanceAlerts, eq(lowBalanceAlerts.accountId, accounts.id))
    .where(and(isNotNull(accounts.lowBalanceThresholdMicros), eq(accounts.status, "active")));
  const run: LowBalanceRun = { checked: rows.length, notified: 0, rearmed: 0 };
  for (const r of rows) {
    const available = r.balance - r.reserved;
    const threshold = r.threshold!;
    if (available >= threshold) {
      if (r.alerted) {
        await db.delete(lowBalanceAlerts).where(eq(lowBalanceAlerts.accountId, r.id));
        run.rearmed++;
      }
      continue;
    }
    if (r.alerted) continue;
    // Claim the crossing first so two job instances can't both notify.
    const claimed = await db.insert(lowBalanceAlerts).values({ accountId: r.id, balanceMicros: available }).onConflictDoNothing().returning({ id: lowBalanceAlerts.accountId });
    if (!claimed[0]) continue;
    const chats = notify ? await accountTelegramChats(db, r.id) : [];
    let delivered = 0;
    let mailed = false;
    if (mail) {
      try {
        mailed = true;
        delivered += await mail(r.id, available, threshold);
      } catch (e) {
        logger.warn({ err: e, accountId: r.id }, "low-balance e-mail not delivered");
      }
    }
    for (const c of chats) {
      try {
        await notify!(c.telegramId, c.locale, available, threshold);
        delivered++;
      } catch (e) {
        logger.warn({ err: e, accountId: r.id, chatId: c.telegramId }, "low-balance notice not delivered");
      }
    }
    if ((chats.length > 0 || mailed) && delivered === 0) {
      // Nobody got it: release the claim so the next run tries again.
      await db.delete(lowBalanceAlerts).where(eq(lowBalanceAlerts.accountId, r.id));
      continue;
    }
    if (delivered > 0) run.notified++;
  }
  return run;
}

/** Runs `checkLowBalances` every `intervalMs` (no overlap between runs). */
export function startLowBalanceNotifier(db: Db, notify: LowBalanceNotify | null, logger: Logger, intervalMs: number, mail?: LowBalanceMail): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    checkLowBalances(db, notify, logger, mail)
      .then((r) => {
        if (r.notified || r.rearmed) logger.info(r, "low-balance check");
      })
      .catch((e) => logger.error({ err: e }, "low-balance check failed"))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
