import type { Mailer } from "../mail/mailer.js";
import type { Alert, AlertSink } from "./alerts.js";

const TITLES: Record<Alert["kind"], string> = {
  upstream_balance_low: "Upstream balance low",
  circuit_open: "Circuit open",
  negative_margin: "Negative margin",
  payment_anomaly: "Payment anomaly",
  hold_released_after_output: "Hold released after output was delivered",
  price_changes_pending: "Price changes waiting for approval",
};

export function alertTitle(a: Alert): string {
  return `[llm-gateway] ${TITLES[a.kind]}: ${a.subject}`;
}

/** Bot API `sendMessage` to the admin chat (the bot must be a member of it). */
export function telegramAlertSink(o: { token: string; apiRoot: string; chatId: string }): AlertSink {
  return {
    name: "telegram",
    async send(a) {
      const res = await fetch(`${o.apiRoot.replace(/\/+$/, "")}/bot${o.token}/sendMessage`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ chat_id: o.chatId, text: `${alertTitle(a)}\n\n${a.text}`, link_preview_options: { is_disabled: true } }),
        signal: AbortSignal.timeout(10_000),
      });
      // The URL carries the bot token: never put it in the error.
      if (!res.ok) throw new Error(`telegram sendMessage answered ${res.status}`);
    },
  };
}

export function emailAlertSink(mailer: Mailer, to: string): AlertSink {
  return { name: "email", send: (a) => mailer.send({ to, subject: alertTitle(a), text: a.text }) };
}
