import { z } from "@hono/zod-openapi";
import { effectiveLimits, type BillingService } from "../../billing/service.js";
import { counterId, PERIODS, type Limits, type Period, type WindowLimit } from "../../billing/quotas.js";
import { counterRows } from "../../billing/reports.js";
import { formatMoney } from "../../core/money.js";
import type { AuthContext } from "../../contracts/request.js";
import type { AppDeps } from "../deps.js";

/** Quota windows of a key and its account: limit, used, held and remaining per window. */

const Gauge = z
  .object({ limit: z.string().or(z.number()), used: z.string().or(z.number()), reserved: z.string().or(z.number()), remaining: z.string().or(z.number()) })
  .nullable();
const WindowState = z.object({ window: z.string(), tokens: Gauge, money: Gauge, requests: Gauge }).nullable();
export const ScopeLimits = z.object({ daily: WindowState, weekly: WindowState, monthly: WindowState, total: WindowState }).openapi("QuotaState");

type Counter = Awaited<ReturnType<typeof counterRows>> extends Map<string, infer V> ? V : never;

function gauge(limit: bigint | null, used: bigint, held: bigint, money: boolean) {
  if (limit === null) return null;
  const rem = limit - used - held;
  const f = (v: bigint) => (money ? formatMoney(v) : Number(v));
  return { limit: f(limit), used: f(used), reserved: f(held), remaining: f(rem > 0n ? rem : 0n) };
}

function windowState(w: WindowLimit, id: string, c: Counter | undefined, label: string) {
  if (w.tokens === null && w.micros === null && w.requests === null) return null;
  return {
    window: label,
    tokens: gauge(w.tokens, BigInt(c?.usedTokens ?? 0), BigInt(c?.heldTokens ?? 0), false),
    money: gauge(w.micros, c?.usedMicros ?? 0n, c?.heldMicros ?? 0n, true),
    requests: gauge(w.requests, 0n, BigInt(c?.requests ?? 0), false),
  };
}

export async function quotaState(deps: AppDeps, svc: BillingService, auth: AuthContext) {
  const snap = await svc.config.get();
  const e = effectiveLimits(snap, auth);
  const keys = svc.periods.keys(deps.clock.now());
  const label = (p: Period) => (p === "daily" ? keys.day : p === "weekly" ? keys.week : p === "monthly" ? keys.month : "all");
  const ids: string[] = [];
  for (const p of PERIODS) ids.push(counterId("k", auth.keyId, p, keys), counterId("a", auth.accountId, p, keys));
  const ctr = await counterRows(deps.db, ids);
  const scope = (s: "k" | "a", id: string, l: Limits) => ({
    daily: windowState(l.daily, counterId(s, id, "daily", keys), ctr.get(counterId(s, id, "daily", keys)), label("daily")),
    weekly: windowState(l.weekly, counterId(s, id, "weekly", keys), ctr.get(counterId(s, id, "weekly", keys)), label("weekly")),
    monthly: windowState(l.monthly, counterId(s, id, "monthly", keys), ctr.get(counterId(s, id, "monthly", keys)), label("monthly")),
    total: windowState(l.total, counterId(s, id, "total", keys), ctr.get(counterId(s, id, "total", keys)), label("total")),
  });
  return { e, key: scope("k", auth.keyId, e.keyLimits), account: scope("a", auth.accountId, e.accountLimits), ctr, keys };
}
