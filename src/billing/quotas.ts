/**
 * Quota limits (the `limits` jsonb of accounts, api_keys and tariffs) and the usage-counter
 * windows they watch. Limits are enforced by the reserve SQL in the same statement as the balance
 * hold, so concurrency can't exceed them.
 */
import { z } from "zod";
import { parseMoney } from "../core/money.js";

/**
 * The documented shape. Token and request limits are integers; money limits are decimal strings
 * in the account currency (numbers are accepted too). Omitted / null = no limit.
 * `tariff_id` is only read on a key: it overrides the account's tariff for that key.
 */
export const QuotaLimitsSchema = z
  .object({
    daily_tokens: z.number().int().min(0).nullable().optional(),
    weekly_tokens: z.number().int().min(0).nullable().optional(),
    monthly_tokens: z.number().int().min(0).nullable().optional(),
    total_tokens: z.number().int().min(0).nullable().optional(),
    daily_money: z.union([z.string(), z.number()]).nullable().optional(),
    weekly_money: z.union([z.string(), z.number()]).nullable().optional(),
    monthly_money: z.union([z.string(), z.number()]).nullable().optional(),
    total_money: z.union([z.string(), z.number()]).nullable().optional(),
    daily_requests: z.number().int().min(0).nullable().optional(),
    weekly_requests: z.number().int().min(0).nullable().optional(),
    monthly_requests: z.number().int().min(0).nullable().optional(),
    total_requests: z.number().int().min(0).nullable().optional(),
    tariff_id: z.string().nullable().optional(),
  })
  .passthrough();

/** Windows in the billing time zone: calendar day, ISO week (Monday 00:00 to Monday 00:00), calendar month, all time. */
export type Period = "daily" | "weekly" | "monthly" | "total";
export const PERIODS: readonly Period[] = ["daily", "weekly", "monthly", "total"];

export interface WindowLimit {
  tokens: bigint | null;
  micros: bigint | null;
  requests: bigint | null;
}
export type Limits = Record<Period, WindowLimit>;

const NO_WINDOW: WindowLimit = Object.freeze({ tokens: null, micros: null, requests: null });
export const NO_LIMITS: Limits = Object.freeze({ daily: NO_WINDOW, weekly: NO_WINDOW, monthly: NO_WINDOW, total: NO_WINDOW });

function intOrNull(v: unknown): bigint | null {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^\d{1,15}$/.test(v)) return BigInt(v);
  return null;
}

function moneyOrNull(v: unknown): bigint | null {
  if (v === null || v === undefined) return null;
  try {
    const m = parseMoney(typeof v === "number" ? v.toFixed(6) : String(v));
    return m >= 0n ? m : null;
  } catch {
    return null;
  }
}

/**
 * Merges raw limit objects, later ones overriding earlier ones field by field (an explicit null
 * removes an inherited limit), and parses the result. Unparsable fields are ignored (admin input
 * is validated with QuotaLimitsSchema on the way in).
 */
export function mergeLimits(...layers: ReadonlyArray<Record<string, unknown> | null | undefined>): Limits {
  const merged: Record<string, unknown> = {};
  for (const l of layers) {
    if (!l) continue;
    for (const [k, v] of Object.entries(l)) if (v !== undefined) merged[k] = v;
  }
  const w = (p: Period): WindowLimit => {
    const tokens = intOrNull(merged[`${p}_tokens`]);
    const micros = moneyOrNull(merged[`${p}_money`]);
    const requests = intOrNull(merged[`${p}_requests`]);
    return tokens === null && micros === null && requests === null ? NO_WINDOW : { tokens, micros, requests };
  };
  const out: Limits = { daily: w("daily"), weekly: w("weekly"), monthly: w("monthly"), total: w("total") };
  return PERIODS.every((p) => out[p] === NO_WINDOW) ? NO_LIMITS : out;
}

/** One usage window a hold reserves in, with the limits to check against it. */
export interface CounterSpec {
  id: string;
  /** `limit_source` reported when it refuses: key_daily, account_monthly, … */
  source: string;
  limit: WindowLimit;
}

export interface PeriodKeys {
  day: string;
  /** ISO 8601 week of `day`, e.g. `2026-W49` (weeks start on Monday; week 1 holds the year's first Thursday). */
  week: string;
  month: string;
}

/** ISO week of a calendar date `YYYY-MM-DD` (the date is already in the billing time zone). */
export function isoWeek(day: string): string {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  const weekday = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

/**
 * Calendar day and month in the billing time zone, the one clock every window uses. Cached per
 * minute: time-zone offsets are whole minutes, so the day can't change within one.
 */
export class PeriodClock {
  private readonly fmt: Intl.DateTimeFormat;
  private cachedMinute = -1;
  private cached: PeriodKeys = { day: "", week: "", month: "" };
  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  }
  keys(nowMs: number): PeriodKeys {
    const minute = Math.floor(nowMs / 60_000);
    if (minute !== this.cachedMinute) {
      const parts = this.fmt.formatToParts(new Date(nowMs));
      const get = (t: string) => parts.find((p) => p.type === t)!.value;
      const month = `${get("year")}-${get("month")}`;
      const day = `${month}-${get("day")}`;
      this.cached = { day, week: this.cached.day === day ? this.cached.week : isoWeek(day), month };
      this.cachedMinute = minute;
    }
    return this.cached;
  }
}

export function counterId(scope: "k" | "a", id: string, period: Period, keys: PeriodKeys): string {
  const p = period === "daily" ? `d:${keys.day}` : period === "weekly" ? `w:${keys.week}` : period === "monthly" ? `m:${keys.month}` : "t";
  return `${scope}:${id}|${p}`;
}

/** The counters a request reserves in: one per (scope, period) that has at least one limit. */
export function counterSpecs(keyId: string | null, keyLimits: Limits, accountId: string, accountLimits: Limits, keys: PeriodKeys): CounterSpec[] {
  const out: CounterSpec[] = [];
  const add = (scope: "k" | "a", id: string, l: Limits) => {
    if (l === NO_LIMITS) return;
    for (const p of PERIODS) {
      const w = l[p];
      if (w === NO_WINDOW) continue;
      out.push({ id: counterId(scope, id, p, keys), source: `${scope === "k" ? "key" : "account"}_${p}`, limit: w });
    }
  };
  if (keyId) add("k", keyId, keyLimits);
  add("a", accountId, accountLimits);
  return out;
}
