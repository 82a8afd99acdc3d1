import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeSnapshot, encodeSnapshot, priceUsage, worstOf, type HoldSnapshot } from "../../../src/billing/price-plan.js";
import { cleanUsage, holdMicros, holdRates, salePriceMicros, usageWeight, type UnitPrices } from "../../../src/billing/pricing.js";

const RATE = 1_000_000n; // 1 account unit per USD
const MARKUP = 1_000_000n; // × 1
// Claude-like list prices: $3 in, $15 out, cache read $0.30, cache write $3.75 per 1M.
const SONNET: UnitPrices = { input: 3_000_000n, output: 15_000_000n, cachedInput: 300_000n, cacheWrite: 3_750_000n, reasoning: null };

const usage = (prompt: number, completion: number, cached?: number, cacheWrite?: number) =>
  cleanUsage({ promptTokens: prompt, completionTokens: completion, cachedTokens: cached, cacheWriteTokens: cacheWrite });

test("cache reads and cache writes are priced at their own prices, the rest of the prompt at the input price", () => {
  // 1000 prompt = 100 plain + 300 read + 600 written; 50 out.
  // 100 × 3 + 300 × 0.3 + 600 × 3.75 + 50 × 15 = 300 + 90 + 2250 + 750 = 3390 USD micros·M → 3390 micros.
  assert.equal(salePriceMicros(usageWeight(SONNET, usage(1000, 50, 300, 600)), RATE, MARKUP), 3390n);
});

test("without a cache-write price, cache writes cost the input price", () => {
  const p: UnitPrices = { ...SONNET, cacheWrite: null };
  assert.equal(usageWeight(p, usage(1000, 0, 0, 600)), usageWeight(p, usage(1000, 0)));
  const legacy: UnitPrices = { input: 3_000_000n, output: 15_000_000n, cachedInput: null, reasoning: null };
  assert.equal(usageWeight(legacy, usage(1000, 0, 0, 600)), 1000n * 3_000_000n);
});

test("cache writes are clamped to the prompt left after cache reads (a report can't bill more tokens than the prompt)", () => {
  const c = usage(100, 0, 80, 500);
  assert.equal(c.cached, 80n);
  assert.equal(c.cacheWrite, 20n);
});

test("the hold takes the dearest prompt price: a prompt fully written to the cache is still covered", () => {
  const rates = holdRates([{ prices: SONNET, markupPpm: MARKUP }], RATE);
  const hold = holdMicros(1000, 50, rates);
  const charge = salePriceMicros(usageWeight(SONNET, usage(1000, 50, 0, 1000)), RATE, MARKUP);
  assert.ok(charge <= hold, `charge ${charge} ≤ hold ${hold}`);
  // 1000 × 3.75 + 50 × 15 = 4500: the hold is exactly the worst case.
  assert.equal(hold, 4500n);
});

test("the hold snapshot keeps the cache-write price, and reads holds written before it existed", () => {
  const snap: HoldSnapshot = {
    rateMicros: RATE,
    currency: "USD",
    tariffId: "t",
    markupPpm: MARKUP,
    routes: new Map([["anthropic", { prices: SONNET, markupPpm: MARKUP }]]),
    worst: worstOf([{ prices: SONNET, markupPpm: MARKUP }]),
    unpricedHoldMicros: null,
  };
  const back = decodeSnapshot(encodeSnapshot(snap));
  assert.equal(back.routes.get("anthropic")!.prices.cacheWrite, 3_750_000n);
  assert.equal(priceUsage(back, { promptTokens: 1000, completionTokens: 50, totalTokens: 1050, cachedTokens: 300, cacheWriteTokens: 600, estimated: false }, "anthropic", 0).priceMicros, 3390n);
  const old = JSON.parse(encodeSnapshot(snap)) as { r: Record<string, unknown[]> };
  old.r.anthropic = old.r.anthropic!.slice(0, 5);
  assert.equal(decodeSnapshot(JSON.stringify(old)).routes.get("anthropic")!.prices.cacheWrite ?? null, null);
});
