/**
 * Read models over the request log (usage, costs) and the ledger, for the client endpoints and the
 * admin statistics. Day and month boundaries are in BILLING_TIMEZONE, computed by the database from
 * the caller's clock. Every client query is scoped by account id (and key id where asked).
 */
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client.js";

type Row = Record<string, unknown>;
const rowsOf = (r: unknown) => (r as { rows: Row[] }).rows;
const big = (v: unknown) => (v === null || v === undefined ? 0n : BigInt(String(v)));
const int = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

export interface UsageFigures {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Price charged, account micros. */
  costMicros: bigint;
}

export interface PlatformFigures extends UsageFigures {
  upstreamCostMicros: bigint;
  profitMicros: bigint;
}

export interface Scope {
  accountId?: string;
  keyId?: string;
}

function scopeWhere(s: Scope): SQL {
  const parts: SQL[] = [sql`true`];
  if (s.accountId) parts.push(sql`account_id = ${s.accountId}`);
  if (s.keyId) parts.push(sql`api_key_id = ${s.keyId}`);
  return sql.join(parts, sql` and `);
}

const figures = (r: Row, p = ""): UsageFigures => ({
  requests: int(r[`${p}requests`]),
  promptTokens: int(r[`${p}prompt`]),
  completionTokens: int(r[`${p}completion`]),
  totalTokens: int(r[`${p}total`]),
  costMicros: big(r[`${p}cost`]),
});

/**
 * The usage rows every report reads: the request log, plus the daily totals the retention job
 * folded old rows into (jobs/retention.ts). A row is in exactly one of the two (retention deletes
 * what it folds in the same statement), so totals stay exact after retention. A daily row stands
 * at its day's start in the billing time zone: windows starting on a day boundary (today, week,
 * month, the last N days) count it whole; a range starting mid-day counts it from its start.
 * Folded rows are grouped by the served model (the requested one when none was served).
 */
const usageRows = (tz: string) => sql`(
  select account_id, api_key_id, requested_model, created_at, 1::bigint as n, prompt_tokens, completion_tokens,
         coalesce(total_tokens, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) as total_tokens, price_micros, upstream_cost_micros
  from request_logs
  union all
  select account_id, nullif(api_key_id, ''), nullif(model, ''), (day::date::timestamp at time zone ${tz}), requests, prompt_tokens, completion_tokens,
         total_tokens, price_micros, upstream_cost_micros
  from request_log_daily) as u`;

const agg = (filter: SQL, p: string) => sql`
  coalesce(sum(n) filter (where ${filter}), 0) as ${sql.raw(p)}requests,
  coalesce(sum(prompt_tokens) filter (where ${filter}), 0)::text as ${sql.raw(p)}prompt,
  coalesce(sum(completion_tokens) filter (where ${filter}), 0)::text as ${sql.raw(p)}completion,
  coalesce(sum(total_tokens) filter (where ${filter}), 0)::text as ${sql.raw(p)}total,
  coalesce(sum(price_micros) filter (where ${filter}), 0)::text as ${sql.raw(p)}cost`;

/** Today, this ISO week (from Monday), this calendar month and all time, for an account or one key. */
export async function usageSummary(db: Db, scope: Scope, now: Date, tz: string): Promise<{ today: UsageFigures; week: UsageFigures; month: UsageFigures; total: UsageFigures }> {
  const n = now.toISOString();
  const dayStart = sql`(date_trunc('day', ${n}::timestamptz at time zone ${tz}) at time zone ${tz})`;
  const weekStart = sql`(date_trunc('week', ${n}::timestamptz at time zone ${tz}) at time zone ${tz})`;
  const monthStart = sql`(date_trunc('month', ${n}::timestamptz at time zone ${tz}) at time zone ${tz})`;
  const r = rowsOf(
    await db.execute(sql`select ${agg(sql`created_at >= ${dayStart}`, "d_")}, ${agg(sql`created_at >= ${weekStart}`, "w_")}, ${agg(sql`created_at >= ${monthStart}`, "m_")}, ${agg(sql`true`, "t_")}
      from ${usageRows(tz)} where ${scopeWhere(scope)}`),
  )[0]!;
  return { today: figures(r, "d_"), week: figures(r, "w_"), month: figures(r, "m_"), total: figures(r, "t_") };
}

export interface DayFigures extends UsageFigures {
  date: string;
}

/** One row per day with activity, oldest first, over the last `days` days (today included). */
export async function usageDaily(db: Db, scope: Scope, now: Date, tz: string, days: number): Promise<DayFigures[]> {
  const from = sql`(date_trunc('day', ${now.toISOString()}::timestamptz at time zone ${tz}) at time zone ${tz}) - ${days - 1} * interval '1 day'`;
  const rows = rowsOf(
    await db.execute(sql`select to_char(created_at at time zone ${tz}, 'YYYY-MM-DD') as date, ${agg(sql`true`, "")}
      from ${usageRows(tz)} where ${scopeWhere(scope)} and created_at >= ${from} group by 1 order by 1`),
  );
  return rows.map((r) => ({ date: String(r.date), ...figures(r) }));
}

export interface ModelFigures extends UsageFigures {
  model: string;
}

export async function usageByModel(db: Db, scope: Scope, now: Date, tz: string, days: number): Promise<ModelFigures[]> {
  const from = sql`(date_trunc('day', ${now.toISOString()}::timestamptz at time zone ${tz}) at time zone ${tz}) - ${days - 1} * interval '1 day'`;
  const rows = rowsOf(
    await db.execute(sql`select coalesce(requested_model, '') as model, ${agg(sql`true`, "")}
      from ${usageRows(tz)} where ${scopeWhere(scope)} and created_at >= ${from} group by 1 order by sum(price_micros) desc nulls last, 1`),
  );
  return rows.map((r) => ({ model: String(r.model), ...figures(r) }));
}

export interface RequestRow {
  id: string;
  createdAt: string;
  keyId: string | null;
  model: string | null;
  servedModel: string | null;
  providerId: string | null;
  endpoint: string;
  stream: boolean;
  status: string;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
  reasoningTokens: number | null;
  totalTokens: number | null;
  estimated: boolean;
  costMicros: bigint | null;
  latencyMs: number | null;
  ttftMs: number | null;
  errorCode: string | null;
  cacheHit: boolean;
}

const REQUEST_COLUMNS = sql`id, created_at::text as ts, api_key_id, requested_model, served_model, provider_id, endpoint, stream, status,
  prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, total_tokens, estimated, price_micros::text as price, latency_ms, ttft_ms, error_code, cache_hit`;

function toRequest(r: Row): RequestRow {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(r.id),
    createdAt: new Date(String(r.ts)).toISOString(),
    keyId: (r.api_key_id as string | null) ?? null,
    model: (r.requested_model as string | null) ?? null,
    servedModel: (r.served_model as string | null) ?? null,
    providerId: (r.provider_id as string | null) ?? null,
    endpoint: String(r.endpoint),
    stream: Boolean(r.stream),
    status: String(r.status),
    promptTokens: n(r.prompt_tokens),
    completionTokens: n(r.completion_tokens),
    cachedTokens: n(r.cached_tokens),
    reasoningTokens: n(r.reasoning_tokens),
    totalTokens: n(r.total_tokens),
    estimated: Boolean(r.estimated),
    costMicros: r.price === null || r.price === undefined ? null : BigInt(String(r.price)),
    latencyMs: n(r.latency_ms),
    ttftMs: n(r.ttft_ms),
    errorCode: (r.error_code as string | null) ?? null,
    cacheHit: Boolean(r.cache_hit),
  };
}

/** Opaque keyset cursor: the row's exact timestamp text and id. */
export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString("base64url");
}
export function decodeCursor(c: string | undefined | null): [string, string] | null {
  if (!c) return null;
  try {
    const v = JSON.parse(Buffer.from(c, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string" && !Number.isNaN(Date.parse(v[0]))) return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  return null;
}

/** Newest first, keyset-paginated. */
export async function recentRequests(db: Db, scope: Scope, limit: number, cursor: string | null): Promise<{ rows: RequestRow[]; next: string | null }> {
  const c = decodeCursor(cursor);
  const after = c ? sql` and (created_at, id) < (${c[0]}::timestamptz, ${c[1]})` : sql``;
  const rows = rowsOf(await db.execute(sql`select ${REQUEST_COLUMNS} from request_logs where ${scopeWhere(scope)}${after} order by created_at desc, id desc limit ${limit + 1}`));
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page.map(toRequest), next: rows.length > limit && last ? encodeCursor(String(last.ts), String(last.id)) : null };
}

/** One request of the account (null when it doesn't exist or belongs to someone else). */
export async function generation(
  db: Db,
  accountId: string,
  id: string,
): Promise<(RequestRow & { upstreamCostMicros: bigint | null; upstreamId: string | null; upstreamProvider: string | null }) | null> {
  const r = rowsOf(
    await db.execute(
      sql`select ${REQUEST_COLUMNS}, upstream_cost_micros::text as ucost, meta->>'upstream_id' as upstream_id, meta->>'upstream_provider' as upstream_provider from request_logs where id = ${id} and account_id = ${accountId} limit 1`,
    ),
  )[0];
  if (!r) return null;
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    ...toRequest(r),
    upstreamCostMicros: r.ucost === null || r.ucost === undefined ? null : BigInt(String(r.ucost)),
    upstreamId: str(r.upstream_id),
    upstreamProvider: str(r.upstream_provider),
  };
}

// ---------- platform statistics (admin) ----------

const platformAgg = sql`coalesce(sum(n), 0) as requests,
  coalesce(sum(prompt_tokens), 0)::text as prompt, coalesce(sum(completion_tokens), 0)::text as completion,
  coalesce(sum(total_tokens), 0)::text as total,
  coalesce(sum(price_micros), 0)::text as cost, coalesce(sum(upstream_cost_micros), 0)::text as ucost,
  coalesce(sum(price_micros), 0)::text as revenue`;

function platform(r: Row): PlatformFigures {
  const f = figures(r);
  const upstream = big(r.ucost);
  return { ...f, upstreamCostMicros: upstream, profitMicros: f.costMicros - upstream };
}

export interface Period {
  from: Date;
  to: Date;
}

export async function platformSummary(db: Db, p: Period, tz: string, accountId?: string): Promise<PlatformFigures> {
  const r = rowsOf(
    await db.execute(sql`select ${platformAgg} from ${usageRows(tz)} where created_at >= ${p.from.toISOString()}::timestamptz and created_at < ${p.to.toISOString()}::timestamptz
      ${accountId ? sql`and account_id = ${accountId}` : sql``}`),
  )[0]!;
  return platform(r);
}

export async function platformDaily(db: Db, p: Period, tz: string, accountId?: string): Promise<Array<PlatformFigures & { date: string }>> {
  const rows = rowsOf(
    await db.execute(sql`select to_char(created_at at time zone ${tz}, 'YYYY-MM-DD') as date, ${platformAgg} from ${usageRows(tz)}
      where created_at >= ${p.from.toISOString()}::timestamptz and created_at < ${p.to.toISOString()}::timestamptz
      ${accountId ? sql`and account_id = ${accountId}` : sql``} group by 1 order by 1`),
  );
  return rows.map((r) => ({ date: String(r.date), ...platform(r) }));
}

export async function platformByModel(db: Db, p: Period, tz: string, accountId?: string): Promise<Array<PlatformFigures & { model: string }>> {
  const rows = rowsOf(
    await db.execute(sql`select coalesce(requested_model, '') as model, ${platformAgg} from ${usageRows(tz)}
      where created_at >= ${p.from.toISOString()}::timestamptz and created_at < ${p.to.toISOString()}::timestamptz
      ${accountId ? sql`and account_id = ${accountId}` : sql``} group by 1 order by sum(price_micros) desc nulls last, 1`),
  );
  return rows.map((r) => ({ model: String(r.model), ...platform(r) }));
}

// ---------- ledger ----------

export interface LedgerRow {
  id: string;
  kind: string;
  amountMicros: bigint;
  balanceAfterMicros: bigint;
  ref: string;
  reason: string | null;
  actor: string;
  meta: Record<string, unknown> | null;
  createdAt: string;
}

export async function accountLedger(db: Db, accountId: string, limit: number, cursor: string | null, kind?: string): Promise<{ rows: LedgerRow[]; next: string | null }> {
  const c = decodeCursor(cursor);
  const rows = rowsOf(
    await db.execute(sql`select id, kind, amount_micros::text as amount, balance_after_micros::text as after, ref, reason, actor, meta, created_at::text as ts
      from ledger_entries where account_id = ${accountId}
      ${kind ? sql`and kind = ${kind}` : sql``}
      ${c ? sql`and (created_at, id) < (${c[0]}::timestamptz, ${c[1]})` : sql``}
      order by created_at desc, id desc limit ${limit + 1}`),
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page.map((r) => ({
      id: String(r.id),
      kind: String(r.kind),
      amountMicros: BigInt(String(r.amount)),
      balanceAfterMicros: BigInt(String(r.after)),
      ref: String(r.ref),
      reason: (r.reason as string | null) ?? null,
      actor: String(r.actor),
      meta: (typeof r.meta === "string" ? JSON.parse(r.meta) : r.meta) as Record<string, unknown> | null,
      createdAt: new Date(String(r.ts)).toISOString(),
    })),
    next: rows.length > limit && last ? encodeCursor(String(last.ts), String(last.id)) : null,
  };
}

/** Usage-counter windows of a scope, for /limits and /v1/key. */
export async function counterRows(db: Db, ids: readonly string[]): Promise<Map<string, { usedTokens: number; heldTokens: number; usedMicros: bigint; heldMicros: bigint; requests: number }>> {
  const out = new Map<string, { usedTokens: number; heldTokens: number; usedMicros: bigint; heldMicros: bigint; requests: number }>();
  if (ids.length === 0) return out;
  const rows = rowsOf(
    await db.execute(sql`select id, used_tokens, held_tokens, used_micros::text as um, held_micros::text as hm, requests from usage_counters where id in (${sql.join(
      ids.map((i) => sql`${i}`),
      sql`, `,
    )})`),
  );
  for (const r of rows) {
    out.set(String(r.id), { usedTokens: int(r.used_tokens), heldTokens: int(r.held_tokens), usedMicros: big(r.um), heldMicros: big(r.hm), requests: int(r.requests) });
  }
  return out;
}

/**
 * OpenRouter's credits view of an account: everything spent on requests (the usage ledger entries)
 * and what was credited in all, counted so that `credited − used` is the balance exactly (refunds
 * and adjustments included in what was credited).
 */
export async function accountCredits(db: Db, accountId: string): Promise<{ creditedMicros: bigint; usedMicros: bigint } | null> {
  const r = rowsOf(
    await db.execute(
      sql`select a.balance_micros::text as balance, coalesce((select -sum(amount_micros) from ledger_entries where account_id = a.id and kind = 'usage'), 0)::text as used
        from accounts a where a.id = ${accountId}`,
    ),
  )[0];
  if (!r) return null;
  const used = BigInt(String(r.used));
  return { usedMicros: used, creditedMicros: BigInt(String(r.balance)) + used };
}
