import type { Api } from "grammy";
import { accountTelegramChats } from "../accounts/telegram-user.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import type { ReferralCommissionNotice } from "../payments/credit.js";
import { balanceSummary } from "../payments/statements.js";
import { money as formatMoney, pickLang, t } from "./i18n.js";

/** Sends the referral-commission notice to every linked Telegram chat of the inviter. */
export function referralCommissionNotifier(db: Db, api: Api, currency: string, logger: Logger): (n: ReferralCommissionNotice) => Promise<void> {
  return async (n) => {
    const balance = (await balanceSummary(db, n.inviterAccountId, new Date()))?.balanceMicros ?? 0n;
    for (const chat of await accountTelegramChats(db, n.inviterAccountId)) {
      const lang = pickLang(chat.locale);
      await api
        .sendMessage(chat.telegramId, t(lang).commission(formatMoney(n.commissionMicros, currency, lang), formatMoney(balance, currency, lang)))
        .catch((e: unknown) => logger.warn({ err: e, accountId: n.inviterAccountId }, "referral commission notice not delivered"));
    }
  };
}

/** The message the low-balance job sends to each linked chat. */
export function lowBalanceMessage(locale: string | null, availableMicros: bigint, thresholdMicros: bigint, currency: string): string {
  const lang = pickLang(locale);
  return t(lang).lowBalance(formatMoney(availableMicros, currency, lang), formatMoney(thresholdMicros, currency, lang));
}
