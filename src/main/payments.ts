import type { UserFromGetMe } from "grammy/types";
import { createBot, createWebInvoiceLink, lowBalanceMessage, referralCommissionNotifier, registerCommands } from "../bot/bot.js";
import { handleTelegramWebhook, setTelegramWebhook, startPolling } from "../bot/webhook.js";
import { ConfigError } from "../config/env.js";
import type { Env } from "../config/env.js";
import type { Services } from "./services.js";
import { startLowBalanceNotifier } from "../jobs/low-balance-notifier.js";
import { reconcilePayments, startPaymentsReconciler } from "../jobs/reconcile-payments.js";

export interface PaymentsHandle {
  /** Whether a Telegram bot runs in this process. */
  bot: boolean;
  stop(): Promise<void>;
}

/**
 * Composition root of the payments area: when TELEGRAM_BOT_TOKEN is set, builds the bot, attaches
 * its webhook handler to the gateway (POST /telegram/webhook), registers the webhook (or starts long
 * polling), and starts the reconciliation and low-balance jobs. Without a token only the
 * YooKassa reconciliation runs (if YooKassa is configured).
 */
/** Settings that can't work together, checked before anything starts. */
export function checkPaymentsSettings(env: Env): void {
  if (env.TELEGRAM_BOT_TOKEN && env.TELEGRAM_MODE === "webhook" && !env.TELEGRAM_WEBHOOK_SECRET) {
    throw new ConfigError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook (Telegram sends it in X-Telegram-Bot-Api-Secret-Token)");
  }
}

export async function startPayments(deps: Services, opts: { botInfo?: UserFromGetMe; jobs?: boolean } = {}): Promise<PaymentsHandle> {
  const { env, logger, db, clock } = deps;
  const rt = deps.payments;
  const stops: Array<() => void | Promise<void>> = [];
  const jobs = opts.jobs ?? true;
  const token = env.TELEGRAM_BOT_TOKEN;

  if (!token || env.TELEGRAM_MODE === "off") {
    if (jobs && rt.yookassa && env.PAYMENTS_RECONCILE_INTERVAL_SECONDS > 0) {
      const r = startPaymentsReconciler({ db, cfg: rt.cfg, clock, logger, stars: null, yookassa: rt.yookassa, notices: rt.notices }, env.PAYMENTS_RECONCILE_INTERVAL_SECONDS * 1000);
      stops.push(r.stop);
    }
    // Without a bot, low-balance notices still go out by e-mail when SMTP is set.
    if (jobs && deps.lowBalanceMail && env.LOW_BALANCE_CHECK_INTERVAL_SECONDS > 0) {
      stops.push(startLowBalanceNotifier(db, null, logger, env.LOW_BALANCE_CHECK_INTERVAL_SECONDS * 1000, deps.lowBalanceMail).stop);
    }
    if (token && env.TELEGRAM_MODE === "off") logger.info("telegram bot configured but TELEGRAM_MODE=off: not receiving updates");
    return { bot: false, stop: async () => stops.forEach((s) => s()) };
  }
  checkPaymentsSettings(env);

  const bot = createBot({
    db,
    token,
    apiRoot: env.TELEGRAM_API_ROOT,
    botInfo: opts.botInfo,
    payments: rt.cfg,
    clock,
    logger,
    keyMessageTtlSec: env.BOT_KEY_MESSAGE_TTL_SEC,
    apiBaseUrl: env.API_BASE_URL ?? (env.PUBLIC_URL ? `${env.PUBLIC_URL.replace(/\/+$/, "")}/v1` : null),
    supportContact: env.SUPPORT_CONTACT ?? null,
    receiptVatCode: env.PAYMENTS_RECEIPT_VAT_CODE,
    creditNotices: rt.notices,
  });
  // Payments credited off the bot's own updates (YooKassa, reconciliation) tell the inviter too.
  rt.notices.onReferralCommission = referralCommissionNotifier(db, bot.api, rt.cfg.accountCurrency, logger);
  stops.push(() => void delete rt.notices.onReferralCommission);
  // The command menu in the client, per language; a failure only costs the menu, not the bot.
  registerCommands(bot.api).catch((e) => logger.warn({ err: e }, "telegram setMyCommands failed"));
  const reconcileDeps = { db, cfg: rt.cfg, clock, logger, stars: bot.api, yookassa: rt.yookassa, notices: rt.notices };
  rt.setTelegram({
    stars: bot.api,
    async webhook(req) {
      if (!bot.isInited()) {
        try {
          await bot.init();
        } catch (e) {
          logger.error({ err: e }, "telegram getMe failed; update will be redelivered");
          return { status: 500, result: "not_initialised" };
        }
      }
      return handleTelegramWebhook(bot, req, { secret: env.TELEGRAM_WEBHOOK_SECRET, logger, db });
    },
    reconcileNow: () => reconcilePayments(reconcileDeps),
    invoiceLink: (input) => createWebInvoiceLink(bot.api, { db, payments: rt.cfg, clock, receiptVatCode: env.PAYMENTS_RECEIPT_VAT_CODE }, input),
  });
  stops.push(() => rt.setTelegram(null));

  if (env.TELEGRAM_MODE === "webhook") {
    if (env.TELEGRAM_SET_WEBHOOK && env.PUBLIC_URL) {
      const url = `${env.PUBLIC_URL.replace(/\/+$/, "")}/telegram/webhook`;
      setTelegramWebhook(bot, url, env.TELEGRAM_WEBHOOK_SECRET!).then(
        () => logger.info({ url }, "telegram webhook registered"),
        (e) => logger.error({ err: e, url }, "telegram setWebhook failed (updates wait at Telegram until it succeeds)"),
      );
    } else if (env.TELEGRAM_SET_WEBHOOK) {
      logger.warn("PUBLIC_URL is not set: not calling setWebhook; register https://<host>/telegram/webhook yourself");
    }
  } else {
    void startPolling(bot, logger).catch((e) => logger.error({ err: e }, "telegram polling stopped"));
    stops.push(async () => {
      if (bot.isRunning()) await bot.stop();
    });
  }

  if (jobs) {
    if (env.PAYMENTS_RECONCILE_INTERVAL_SECONDS > 0) {
      const r = startPaymentsReconciler(reconcileDeps, env.PAYMENTS_RECONCILE_INTERVAL_SECONDS * 1000);
      stops.push(r.stop);
    }
    if (env.LOW_BALANCE_CHECK_INTERVAL_SECONDS > 0) {
      const n = startLowBalanceNotifier(
        db,
        async (chatId, locale, available, threshold) => {
          await bot.api.sendMessage(chatId, lowBalanceMessage(locale, available, threshold, rt.cfg.accountCurrency));
        },
        logger,
        env.LOW_BALANCE_CHECK_INTERVAL_SECONDS * 1000,
        deps.lowBalanceMail ?? undefined,
      );
      stops.push(n.stop);
    }
  }
  logger.info({ mode: env.TELEGRAM_MODE, apiRoot: env.TELEGRAM_API_ROOT }, "telegram bot started");
  return {
    bot: true,
    stop: async () => {
      for (const s of stops.reverse()) await s();
    },
  };
}
