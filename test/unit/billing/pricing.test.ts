import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeSnapshot, encodeSnapshot, priceUsage, worstOf, type HoldSnapshot } from "../../../src/billing/price-plan.js";
import {
  changeBp,
  cleanUsage,
  holdMicros,
  holdRates,
  perTokenUsdToMicrosPerM,
  picoUsdToMicros,
  PPM,
  reportedUsdToPico,
  salePriceMicros,
  upstreamCostMicros,
  usageWeight,
  type UnitPrices,
} from "../../../src/billing/pricing.js";
import { counterSpecs, mergeLimits, NO_LIMITS, PeriodClock } from "../../../src/billing/quotas.js";

const RATE = 100_000_000n; // 100 RUB per USD
const MARKUP = 1_500_000n; // × 1.5
const MINI: UnitPrices = { input: 150_000n, output: 600_000n, cachedInput: 75_000n, reasoning: null }; // $0.15 / $0.60 per 1M

const u = (prompt: number, completion: number, cached?: number, reasoning?: number) => cleanUsage({ promptTokens: prompt, completionTokens: completion, cachedTokens: cached, reasoningTokens: reasoning });

test("sale price is exact to the micro-unit: 1000 in + 500 out of gpt-4o-mini at 100 RUB/$ × 1.5 = 0.0675 RUB", () => {
  // 1000 × 0.15/1e6 $ + 500 × 0.6/1e6 $ = 0.00045 $ → × 100 = 0.045 RUB → × 1.5 = 0.0675 RUB
  assert.equal(salePriceMicros(usageWeight(MINI, u(1000, 500)), RATE, MARKUP), 67_500n);
  assert.equal(upstreamCostMicros(usageWeight(MINI, u(1000, 500)), RATE), 45_000n);
});

test("the one rounding step is up, per request, not per token", () => {
  // One input token: 0.15e-6 $ × 100 × 1.5 = 22.5 micro-RUB → 23.
  assert.equal(salePriceMicros(usageWeight(MINI, u(1, 0)), RATE, MARKUP), 23n);
  // Three tokens: 67.5 → 68, not 3 × 23 = 69.
  assert.equal(salePriceMicros(usageWeight(MINI, u(3, 0)), RATE, MARKUP), 68n);
  // Exact amounts are not rounded.
  assert.equal(salePriceMicros(usageWeight(MINI, u(2, 0)), RATE, MARKUP), 45n);
  // Zero usage costs zero.
  assert.equal(salePriceMicros(usageWeight(MINI, u(0, 0)), RATE, MARKUP), 0n);
  // A markup below 1 (a reseller selling at 80 % of list) also rounds up.
  assert.equal(salePriceMicros(usageWeight(MINI, u(1, 0)), RATE, 800_000n), 12n); // 12.0 exactly
  assert.equal(salePriceMicros(usageWeight(MINI, u(1, 0)), 95_500_000n, 800_000n), 12n); // 11.46 → 12
});

test("cached prompt tokens and reasoning tokens use their own prices, and are parts of prompt/completion", () => {
  // 600 uncached × 0.15 + 400 cached × 0.075 = 120 $-micro·M → 120e6 × 1.5e14 / 1e18 = 18000
  assert.equal(salePriceMicros(usageWeight(MINI, u(1000, 0, 400)), RATE, MARKUP), 18_000n);
  const R1: UnitPrices = { input: 400_000n, output: 2_000_000n, cachedInput: null, reasoning: 2_500_000n };
  // 100 out of which 60 reasoning: 40 × 2.0 + 60 × 2.5 = 230 → 230e6·1e8·1.5e6/1e18 = 34500
  assert.equal(salePriceMicros(usageWeight(R1, u(0, 100, 0, 60)), RATE, MARKUP), 34_500n);
  // No reasoning price: reasoning tokens cost the output price.
  assert.equal(usageWeight(MINI, u(0, 10, 0, 10)), usageWeight(MINI, u(0, 10)));
});

test("untrusted usage is clamped: negative counts bill zero, cached ≤ prompt, reasoning ≤ completion", () => {
  assert.deepEqual(u(-50, -1), { prompt: 0n, completion: 0n, cached: 0n, cacheWrite: 0n, reasoning: 0n, total: 0 });
  const c = u(10, 5, 99, 99);
  assert.equal(c.cached, 10n);
  assert.equal(c.reasoning, 5n);
  assert.equal(u(Number.NaN, 1.9).completion, 1n);
});

test("upstream discount lowers the cost, not the price", () => {
  const w = usageWeight(MINI, u(1000, 500));
  assert.equal(upstreamCostMicros(w, RATE, 7000), 13_500n); // 45000 × 30 %
  assert.equal(upstreamCostMicros(w, RATE, 10_000), 0n);
});

test("an upstream-reported USD cost converts exactly (and rounds up)", () => {
  assert.equal(reportedUsdToPico(0.000123), 123_000_000n);
  assert.equal(picoUsdToMicros(123_000_000n, RATE), 12_300n); // 0.000123 $ × 100 = 0.0123 RUB
  assert.equal(picoUsdToMicros(123_000_000n, RATE, MARKUP), 18_450n);
  assert.equal(picoUsdToMicros(1n, RATE), 1n);
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, undefined]) assert.equal(reportedUsdToPico(bad as number), null);
});

test("hold = ceil(prompt × in) + ceil(max_tokens × out) at the worst route; matches the SQL formula", () => {
  const rates = holdRates([{ prices: MINI, markupPpm: MARKUP }, { prices: { input: 200_000n, output: 500_000n, cachedInput: null, reasoning: 700_000n }, markupPpm: 1_200_000n }], RATE);
  // in: max(0.15×1.5, 0.2×1.2) = 0.24 $/M·markup → 24 micro-RUB/token; out: max(0.6×1.5, 0.7×1.2) = 0.9 → 90
  assert.equal(rates.inNum, 200_000n * RATE * 1_200_000n);
  assert.equal(rates.outNum, 600_000n * RATE * MARKUP);
  assert.equal(holdMicros(100, 1000, rates), 2_400n + 90_000n);
  assert.equal(holdMicros(1, 1, { inNum: 1n, outNum: 1n }), 2n, "each part rounds up");
});

test("OpenRouter per-token price strings → micros per 1M, exact to 12 decimals, finer rounds up", () => {
  assert.equal(perTokenUsdToMicrosPerM("0.00000015"), 150_000n);
  assert.equal(perTokenUsdToMicrosPerM("0.0000000375"), 37_500n);
  assert.equal(perTokenUsdToMicrosPerM("0.000015"), 15_000_000n);
  assert.equal(perTokenUsdToMicrosPerM("0"), 0n);
  assert.equal(perTokenUsdToMicrosPerM("0.0000000400000001"), 40_001n);
  assert.equal(perTokenUsdToMicrosPerM(1.5e-7), 150_000n);
  for (const bad of ["-1", "abc", "", null, undefined, "1e-7"]) assert.equal(perTokenUsdToMicrosPerM(bad), null, String(bad));
});

test("price change in basis points; to/from zero is unbounded", () => {
  assert.equal(changeBp(100n, 120n), 2000);
  assert.equal(changeBp(100n, 80n), 2000);
  assert.equal(changeBp(3n, 4n), 3334);
  assert.equal(changeBp(0n, 1n), null);
  assert.equal(changeBp(5n, 0n), null);
  assert.equal(changeBp(0n, 0n), 0);
});

test("a hold snapshot survives the jsonb round trip and prices by the served route, else the worst", () => {
  const snap: HoldSnapshot = {
    rateMicros: RATE,
    currency: "RUB",
    tariffId: "trf_x",
    markupPpm: MARKUP,
    routes: new Map([
      ["a", { prices: MINI, markupPpm: MARKUP }],
      ["b", { prices: { input: 300_000n, output: 100_000n, cachedInput: null, reasoning: null }, markupPpm: PPM }],
    ]),
    worst: null,
    unpricedHoldMicros: null,
  };
  snap.worst = worstOf([...snap.routes.values()]);
  const back = decodeSnapshot(JSON.parse(encodeSnapshot(snap)));
  assert.deepEqual(back, snap);
  const usage = { promptTokens: 1000, completionTokens: 500, totalTokens: 1500, estimated: false };
  assert.equal(priceUsage(back, usage, "a", 0).priceMicros, 67_500n);
  // b: (1000 × 0.3 + 500 × 0.1) × 100 × 1.0 = 0.035 RUB
  assert.equal(priceUsage(back, usage, "b", 0).priceMicros, 35_000n);
  // unknown provider → component-wise max: (1000 × 0.3 + 500 × 0.6) × 100 × 1.5 = 0.09 RUB
  assert.equal(priceUsage(back, usage, "zzz", 0).priceMicros, 90_000n);
});

test("quota limits merge field by field and name their windows", () => {
  const l = mergeLimits({ daily_tokens: 1000, total_money: "5" }, { total_tokens: 10000 }, { daily_tokens: null, monthly_requests: 7 });
  assert.equal(l.daily.tokens, null);
  assert.equal(l.total.tokens, 10_000n);
  assert.equal(l.total.micros, 5_000_000n);
  assert.equal(l.monthly.requests, 7n);
  assert.equal(mergeLimits({}, null, { junk: 1 }), NO_LIMITS);
  const keys = new PeriodClock("UTC").keys(Date.UTC(2026, 0, 31, 23, 59));
  assert.deepEqual(keys, { day: "2026-01-31", week: "2026-W05", month: "2026-01" });
  const specs = counterSpecs("key_1", l, "acct_1", mergeLimits({ daily_money: "1" }), keys);
  assert.deepEqual(
    specs.map((s) => [s.id, s.source]),
    [
      ["k:key_1|m:2026-01", "key_monthly"],
      ["k:key_1|t", "key_total"],
      ["a:acct_1|d:2026-01-31", "account_daily"],
    ],
  );
  // Windows follow the billing time zone: 23:59 UTC on Jan 31 is already Feb 1 in Moscow.
  assert.deepEqual(new PeriodClock("Europe/Moscow").keys(Date.UTC(2026, 0, 31, 23, 59)), { day: "2026-02-01", week: "2026-W05", month: "2026-02" });
});
