import { Counter, type Registry } from "prom-client";
import type { MarginEvent } from "../billing/margin.js";
import { formatMoney } from "../core/money.js";
import type { Alerts } from "./alerts.js";

/**
 * Billing's `onMargin` hook: counts every request the margin guard flagged
 * (`gateway_margin_guard_requests_total{flag, negative}`) and alerts on one that lost money.
 */
export function marginWatch(alerts: Alerts, registry: Registry | null, currency: string): (e: MarginEvent) => void {
  const counter = registry
    ? new Counter({
        name: "gateway_margin_guard_requests_total",
        help: "Requests whose upstream-reported cost exceeded the list price, by what the guard did and whether the price ended below the cost",
        labelNames: ["flag", "negative"],
        registers: [registry],
      })
    : null;
  return (e) => {
    const negative = e.profitMicros < 0n;
    counter?.inc({ flag: e.flag, negative: negative ? "true" : "false" });
    if (!negative) return;
    alerts.raise({
      kind: "negative_margin",
      subject: e.providerId ?? "unknown provider",
      text: `Request ${e.requestId} of ${e.accountId} cost ${formatMoney(e.costMicros)} ${currency} upstream and was charged ${formatMoney(e.priceMicros)} ${currency} (loss ${formatMoney(-e.profitMicros)}). Update the price book or set the tariff's margin_rule to charge_reported. See GET /admin/margin.`,
    });
  };
}
