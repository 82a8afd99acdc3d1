import { sql } from "drizzle-orm";
import { formatMoney } from "../core/money.js";
import type { Db } from "../db/client.js";
import type { Alerts } from "./alerts.js";

export interface AlertCheckSettings {
  /** Upstream-account balance (USD micros) below which to alert; null = never. */
  upstreamBalanceMicros: bigint | null;
  currency: string;
}

/** The circuits this process sees open (routing's breaker list), asked for on every run. */
export type OpenCircuits = () => Array<{ key: string; retryAt: number | null }>;

type Row = Record<string, unknown>;
const rowsOf = (r: unknown): Row[] => (Array.isArray(r) ? r : ((r as { rows?: Row[] }).rows ?? [])) as Row[];

/**
 * One pass over what the database says an operator must hear about. `since` is the previous run's
 * start: events (anomalies, negative margins, released holds) are reported once; states (a low
 * balance, pending price changes, an open circuit) repeat per the alert interval while they last.
 */
export async function runAlertChecks(db: Db, alerts: Alerts, since: Date, s: AlertCheckSettings, openCircuits?: OpenCircuits): Promise<number> {
  let raised = 0;
  const raise = (...a: Parameters<Alerts["raise"]>) => void (alerts.raise(...a) && raised++);
  const at = since.toISOString();

  if (s.upstreamBalanceMicros !== null) {
    const low = rowsOf(
      await db.execute(sql`select id, provider_id, name, balance_micros::text as b from upstream_accounts where enabled and balance_micros is not null and balance_micros < ${s.upstreamBalanceMicros.toString()}::bigint`),
    );
    for (const r of low) {
      raise({ kind: "upstream_balance_low", subject: String(r.id), text: `Upstream account ${r.id} (${r.provider_id}${r.name ? `, ${r.name}` : ""}) has $${formatMoney(BigInt(String(r.b)))} left, below $${formatMoney(s.upstreamBalanceMicros)}. Top it up or lower its weight.` });
    }
  }

  for (const c of openCircuits?.() ?? []) {
    raise({ kind: "circuit_open", subject: c.key, text: `The circuit of ${c.key} is open: requests go to other routes${c.retryAt ? ` until a probe at ${new Date(c.retryAt).toISOString()}` : ""}.` });
  }

  const anomalies = rowsOf(await db.execute(sql`select provider, ref, reason from payment_anomalies where created_at >= ${at}::timestamptz order by created_at limit 50`));
  for (const r of anomalies) {
    raise({ kind: "payment_anomaly", subject: `${r.provider}:${r.ref}`, text: `Payment ${r.ref} (${r.provider}) needs a look: ${r.reason}. See GET /admin/payments/anomalies.` });
  }

  const negative = rowsOf(
    await db.execute(sql`select coalesce(provider_id, '?') as provider, count(*)::int as n, (-sum(profit_micros))::text as loss from request_logs
      where profit_micros < 0 and created_at >= ${at}::timestamptz group by 1`),
  );
  for (const r of negative) {
    raise({ kind: "negative_margin", subject: String(r.provider), text: `${r.n} request(s) served by ${r.provider} were charged less than they cost (loss ${formatMoney(BigInt(String(r.loss)))} ${s.currency}). See GET /admin/margin.` });
  }

  // A released hold is "no charge"; with output in its log row the customer got something for free.
  const released = rowsOf(
    await db.execute(sql`select h.request_id, h.account_id, r.completion_tokens from holds h join request_logs r on r.id = h.request_id
      where h.status = 'released' and h.settled_at >= ${at}::timestamptz and coalesce(r.completion_tokens, 0) > 0 limit 50`),
  );
  for (const r of released) {
    raise({ kind: "hold_released_after_output", subject: String(r.request_id), text: `The hold of ${r.request_id} (${r.account_id}) was released although ${r.completion_tokens} output tokens were delivered: that output was not billed.` });
  }

  const pending = rowsOf(await db.execute(sql`select count(*)::int as n from price_changes where status = 'pending'`))[0];
  if (pending && Number(pending.n) > 0) {
    raise({ kind: "price_changes_pending", subject: "price book", text: `${pending.n} price change(s) from the catalog sync wait for approval (they moved more than the allowed percent). See GET /admin/price-changes.` });
  }
  return raised;
}

/** Runs the checks every `intervalMs` (no overlap); the first run looks back one interval. */
export function startAlertChecks(db: Db, alerts: Alerts, s: AlertCheckSettings, intervalMs: number, now: () => number, openCircuits?: OpenCircuits, onError?: (e: unknown) => void) {
  let since = new Date(now() - intervalMs);
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    const started = new Date(now());
    running = runAlertChecks(db, alerts, since, s, openCircuits)
      .then(() => void (since = started))
      .catch((e) => onError?.(e))
      .finally(() => (running = null));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
