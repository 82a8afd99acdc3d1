/**
 * The operator's overview: money and traffic over today / 7 / 30 days, per day, model, provider and
 * account, open holds and requests that look wrong. Read from the request log and the holds table,
 * all in one place so the admin panel's numbers add up to the request log's rows (profit is the sum
 * of the rows' `profit_micros`, not a difference of rounded totals). Day boundaries are in
 * BILLING_TIMEZONE, computed by the database from the caller's clock.
 */
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client.js";

type Row = Record<string, unknown>;
const rowsOf = (r: unknown) => (r as { rows: Row[] }).rows;
const big = (v: unknown) => (v === null || v === undefined ? 0n : BigInt(String(v)));
const int = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const bigOrNull = (v: unknown) => (v === null || v === undefined ? null : BigInt(String(v)));

export interface MoneyFigures {
  requests: number;
  failed: number;
  tokens: number;
  revenueMicros: bigint;
  upstreamCostMicros: bigint;
  profitMicros: bigint;
}

const moneyAgg = (filter: SQL, p: string) => sql`
  count(*) filter (where ${filter}) as ${sql.raw(p)}requests,
  count(*) filter (where ${filter} and status = 'failed') as ${sql.raw(p)}failed,
  coalesce(sum(coalesce(total_tokens, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))) filter (where ${filter}), 0)::text as ${sql.raw(p)}tokens,
  coalesce(sum(price_micros) filter (where ${filter}), 0)::text as ${sql.raw(p)}revenue,
  coalesce(sum(upstream_cost_micros) filter (where ${filter}), 0)::text as ${sql.raw(p)}ucost,
  coalesce(sum(profit_micros) filter (where ${filter}), 0)::text as ${sql.raw(p)}profit`;

const money = (r: Row, p = ""): MoneyFigures => ({
  requests: int(r[`${p}requests`]),
  failed: int(r[`${p}failed`]),
  tokens: int(r[`${p}tokens`]),
  revenueMicros: big(r[`${p}revenue`]),
  upstreamCostMicros: big(r[`${p}ucost`]),
  profitMicros: big(r[`${p}profit`]),
});

/** Start of the day `back` days before today, in `tz`, as a timestamptz expression. */
const dayStart = (now: Date, tz: string, back: number) =>
  sql`((date_trunc('day', ${now.toISOString()}::timestamptz at time zone ${tz}) at time zone ${tz}) - ${back} * interval '1 day')`;

export interface OverviewOptions {
  now: Date;
  tz: string;
  /** Window of the per-day, per-model, per-provider and per-account parts (today included). */
  days: number;
  top: number;
}

export interface Overview {
  periods: { today: MoneyFigures; d7: MoneyFigures; d30: MoneyFigures };
  daily: Array<MoneyFigures & { date: string }>;
  byModel: Array<MoneyFigures & { model: string }>;
  byProvider: Array<MoneyFigures & { providerId: string }>;
  topAccounts: Array<MoneyFigures & { accountId: string; name: string | null }>;
  holds: { open: number; amountMicros: bigint; oldestAt: string | null; expired: number };
  anomalies: AnomalousRequest[];
  anomalyCounts: { loss: number; failed: number; unpriced: number; estimated: number };
}

export interface AnomalousRequest {
  id: string;
  createdAt: string;
  accountId: string;
  model: string | null;
  providerId: string | null;
  status: string;
  errorCode: string | null;
  priceMicros: bigint | null;
  upstreamCostMicros: bigint | null;
  profitMicros: bigint | null;
  /** `loss`: cost above price (e.g. an upstream-reported cost above the list price); `failed`; `unpriced`: completed without a price. */
  reason: "loss" | "failed" | "unpriced";
}

const LOSS = sql`upstream_cost_micros > price_micros`;
const UNPRICED = sql`status = 'completed' and price_micros is null and not cache_hit`;

export async function adminOverview(db: Db, o: OverviewOptions): Promise<Overview> {
  const from = dayStart(o.now, o.tz, o.days - 1);
  const since = (back: number) => sql`created_at >= ${dayStart(o.now, o.tz, back)}`;
  const [periods, daily, byModel, byProvider, top, holds, anomalies, counts] = await Promise.all([
    db.execute(sql`select ${moneyAgg(since(0), "t_")}, ${moneyAgg(since(6), "w_")}, ${moneyAgg(since(29), "m_")} from request_logs where created_at >= ${dayStart(o.now, o.tz, 29)}`),
    db.execute(sql`select to_char(created_at at time zone ${o.tz}, 'YYYY-MM-DD') as date, ${moneyAgg(sql`true`, "")} from request_logs where created_at >= ${from} group by 1 order by 1`),
    db.execute(sql`select coalesce(requested_model, '') as model, ${moneyAgg(sql`true`, "")} from request_logs where created_at >= ${from} group by 1 order by sum(price_micros) desc nulls last, 1 limit 50`),
    db.execute(sql`select coalesce(provider_id, '') as provider, ${moneyAgg(sql`true`, "")} from request_logs where created_at >= ${from} group by 1 order by sum(price_micros) desc nulls last, 1`),
    db.execute(sql`select t.*, a.name from (select account_id, ${moneyAgg(sql`true`, "")}, sum(price_micros) as rank from request_logs where created_at >= ${from}
      group by account_id order by sum(price_micros) desc nulls last, account_id limit ${o.top}) t left join accounts a on a.id = t.account_id
      order by t.rank desc nulls last, t.account_id`),
    db.execute(sql`select count(*) as open, coalesce(sum(amount_micros), 0)::text as amount, min(created_at)::text as oldest,
      count(*) filter (where expires_at < ${o.now.toISOString()}::timestamptz) as expired from holds where status = 'open'`),
    db.execute(sql`select id, created_at::text as ts, account_id, requested_model, provider_id, status, error_code,
      price_micros::text as price, upstream_cost_micros::text as ucost, profit_micros::text as profit,
      case when ${LOSS} then 'loss' when status = 'failed' then 'failed' else 'unpriced' end as reason
      from request_logs where created_at >= ${from} and (${LOSS} or status = 'failed' or (${UNPRICED}))
      order by created_at desc, id desc limit 50`),
    db.execute(sql`select count(*) filter (where ${LOSS}) as loss, count(*) filter (where status = 'failed') as failed,
      count(*) filter (where ${UNPRICED}) as unpriced, count(*) filter (where estimated) as estimated
      from request_logs where created_at >= ${from}`),
  ]);
  const p = rowsOf(periods)[0]!;
  const h = rowsOf(holds)[0]!;
  const c = rowsOf(counts)[0]!;
  return {
    periods: { today: money(p, "t_"), d7: money(p, "w_"), d30: money(p, "m_") },
    daily: fillDays(
      rowsOf(daily).map((r) => ({ date: String(r.date), ...money(r) })),
      o,
    ),
    byModel: rowsOf(byModel).map((r) => ({ model: String(r.model), ...money(r) })),
    byProvider: rowsOf(byProvider).map((r) => ({ providerId: String(r.provider), ...money(r) })),
    topAccounts: rowsOf(top).map((r) => ({ accountId: String(r.account_id), name: (r.name as string | null) ?? null, ...money(r) })),
    holds: { open: int(h.open), amountMicros: big(h.amount), oldestAt: h.oldest ? new Date(String(h.oldest)).toISOString() : null, expired: int(h.expired) },
    anomalies: rowsOf(anomalies).map((r) => ({
      id: String(r.id),
      createdAt: new Date(String(r.ts)).toISOString(),
      accountId: String(r.account_id),
      model: (r.requested_model as string | null) ?? null,
      providerId: (r.provider_id as string | null) ?? null,
      status: String(r.status),
      errorCode: (r.error_code as string | null) ?? null,
      priceMicros: bigOrNull(r.price),
      upstreamCostMicros: bigOrNull(r.ucost),
      profitMicros: bigOrNull(r.profit),
      reason: String(r.reason) as AnomalousRequest["reason"],
    })),
    anomalyCounts: { loss: int(c.loss), failed: int(c.failed), unpriced: int(c.unpriced), estimated: int(c.estimated) },
  };
}

const ZERO: MoneyFigures = { requests: 0, failed: 0, tokens: 0, revenueMicros: 0n, upstreamCostMicros: 0n, profitMicros: 0n };

/** Every day of the window, zero where nothing happened, so a chart's x axis has no holes. */
function fillDays(rows: Array<MoneyFigures & { date: string }>, o: OverviewOptions): Array<MoneyFigures & { date: string }> {
  const byDate = new Map(rows.map((r) => [r.date, r]));
  const todayLocal = localDate(o.now, o.tz);
  const out: Array<MoneyFigures & { date: string }> = [];
  for (let back = o.days - 1; back >= 0; back--) {
    const d = new Date(Date.UTC(todayLocal.y, todayLocal.m - 1, todayLocal.d - back));
    const key = d.toISOString().slice(0, 10);
    out.push(byDate.get(key) ?? { date: key, ...ZERO });
  }
  // A row the calendar above missed (clock skew between us and the database) is kept, not dropped.
  for (const r of rows) if (!out.some((x) => x.date === r.date)) out.push(r);
  return out.sort((a, b) => a.date.localeCompare(b.date));
}

function localDate(now: Date, tz: string): { y: number; m: number; d: number } {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { y: get("year"), m: get("month"), d: get("day") };
}
