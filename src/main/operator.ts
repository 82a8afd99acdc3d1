import { AccountEmail } from "../accounts/email-links.js";
import { Alerts, type AlertSink } from "../alerts/alerts.js";
import { startAlertChecks, type OpenCircuits } from "../alerts/checks.js";
import { marginWatch } from "../alerts/margin-watch.js";
import { emailAlertSink, telegramAlertSink } from "../alerts/sinks.js";
import type { MarginEvent } from "../billing/margin.js";
import type { Env } from "../config/env.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { parseMoney } from "../core/money.js";
import type { Db } from "../db/client.js";
import type { OperatorServices } from "../http/deps.js";
import type { LowBalanceMail } from "../jobs/low-balance-notifier.js";
import { startRetention } from "../jobs/retention.js";
import { mailLowBalance, sendPaymentReceipts } from "../mail/customer-notices.js";
import { createMailer, mailSettingsFromEnv } from "../mail/mailer.js";
import type { Registry } from "prom-client";

export interface OperatorParts {
  services: OperatorServices;
  /** Billing's hook for requests the margin guard flagged. */
  onMargin: (e: MarginEvent) => void;
  /** The low-balance job's e-mail channel (null without SMTP). */
  lowBalanceMail: LowBalanceMail | null;
  /** Starts the periodic jobs (alert checks, receipts, retention); `openCircuits` is read on every run. */
  start(openCircuits: OpenCircuits): void;
  close(): Promise<void>;
}

/**
 * What runs the business day to day: e-mail (customer links, receipts, low balance), operator
 * alerts (Telegram admin chat and/or e-mail), the margin guard's counter, log retention.
 */
export function buildOperator(inp: { env: Env; db: Db; clock: Clock; logger: Logger; registry: Registry | null; isPglite: boolean }): OperatorParts {
  const { env, db, clock, logger } = inp;
  const mailer = createMailer(mailSettingsFromEnv(env), logger);
  const sinks: AlertSink[] = [];
  if (env.ALERT_TELEGRAM_CHAT_ID && env.TELEGRAM_BOT_TOKEN) sinks.push(telegramAlertSink({ token: env.TELEGRAM_BOT_TOKEN, apiRoot: env.TELEGRAM_API_ROOT, chatId: env.ALERT_TELEGRAM_CHAT_ID }));
  if (env.ALERT_EMAIL_TO && mailer) sinks.push(emailAlertSink(mailer, env.ALERT_EMAIL_TO));
  if (env.ALERT_TELEGRAM_CHAT_ID && !env.TELEGRAM_BOT_TOKEN) logger.warn("ALERT_TELEGRAM_CHAT_ID is set but TELEGRAM_BOT_TOKEN is not: Telegram alerts are off");
  if (env.ALERT_EMAIL_TO && !mailer) logger.warn("ALERT_EMAIL_TO is set but SMTP_HOST is not: e-mail alerts are off");
  const alerts = new Alerts(sinks, { repeatMs: env.ALERT_REPEAT_MINUTES * 60_000 }, clock, logger);
  const accountEmail = new AccountEmail(db, mailer, { publicUrl: env.PUBLIC_URL ?? null, verifyTtlMin: env.EMAIL_VERIFY_TTL_MIN, resetTtlMin: env.PASSWORD_RESET_TTL_MIN }, clock, logger);
  const currency = env.BILLING_CURRENCY;
  const stops: Array<() => Promise<void> | void> = [];
  return {
    services: { alerts, accountEmail },
    onMargin: marginWatch(alerts, inp.registry, currency),
    lowBalanceMail: mailer ? (accountId, available, threshold) => mailLowBalance(db, mailer, currency, accountId, available, threshold) : null,
    start(openCircuits) {
      const checkEveryMs = 60_000;
      const checks = startAlertChecks(
        db,
        alerts,
        { upstreamBalanceMicros: env.ALERT_UPSTREAM_BALANCE_USD ? parseMoney(env.ALERT_UPSTREAM_BALANCE_USD) : null, currency },
        checkEveryMs,
        () => clock.now(),
        openCircuits,
        (e) => logger.error({ err: e }, "alert checks failed"),
      );
      stops.push(() => checks.stop());
      if (mailer) {
        let since = new Date(clock.now() - 24 * 3600_000);
        const t = setInterval(() => {
          const started = new Date(clock.now() - 60_000);
          sendPaymentReceipts(db, mailer, currency, since)
            .then(() => void (since = started))
            .catch((e) => logger.error({ err: e }, "payment receipts failed"));
        }, 30_000);
        t.unref();
        stops.push(() => clearInterval(t));
      }
      if (env.RETENTION_INTERVAL_MIN > 0) {
        const r = startRetention(db, { requestLogDays: env.REQUEST_LOG_RETENTION_DAYS, holdDays: env.HOLD_RETENTION_DAYS, timeZone: env.BILLING_TIMEZONE, vacuum: inp.isPglite }, env.RETENTION_INTERVAL_MIN * 60_000, clock, logger);
        stops.push(() => r.stop());
      }
    },
    async close() {
      for (const s of stops.reverse()) await s();
      await alerts.flush();
      mailer?.close();
    },
  };
}
