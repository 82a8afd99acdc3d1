/**
 * Which prices and markup apply to a request, frozen into the hold's snapshot so that settlement
 * (in this process or, after a crash, the sweeper) prices the usage exactly as admission did.
 */
import type { ResolvedModel, TokenUsage } from "../contracts/request.js";
import { priceKey, type BillingSnapshot, type PriceRow, type TariffInfo } from "./config-cache.js";
import { applyMarginRule, type MarginFlag, type MarginRule } from "./margin.js";
import {
  cleanUsage,
  holdRates,
  picoUsdToMicros,
  reportedUsdToPico,
  salePriceMicros,
  upstreamCostMicros,
  usageWeight,
  type CleanUsage,
  type HoldRates,
  type RoutePricing,
  type UnitPrices,
} from "./pricing.js";

export interface HoldSnapshot {
  rateMicros: bigint;
  currency: string;
  tariffId: string;
  /** The tariff's base markup (prices upstream-reported costs of unpriced models). */
  markupPpm: bigint;
  /** Provider id → what that route sells at. */
  routes: Map<string, RoutePricing>;
  /** Component-wise maximum of the routes, for a served provider the snapshot doesn't know. */
  worst: RoutePricing | null;
  /** Set when no route had a price and BILLING_UNPRICED_HOLD allowed the request anyway. */
  unpricedHoldMicros: bigint | null;
  /** The tariff's margin guard (see margin.ts); holds from before it existed keep the list price. */
  marginRule?: MarginRule;
}

export interface PricePlan {
  snapshot: HoldSnapshot;
  /** snapshot as the jsonb the hold row stores (computed once per plan). */
  snapshotJson: string;
  rates: HoldRates;
  maxOutput: number | null;
}

type SnapshotJson = {
  v: 1;
  rate: string;
  cur: string;
  t: string;
  mk: string;
  /** input, output, cached input, reasoning, markup, cache write (added later: older holds have five). */
  r: Record<string, [string, string, string | null, string | null, string] | [string, string, string | null, string | null, string, string | null]>;
  uh: string | null;
  mg?: MarginRule;
};

export function encodeSnapshot(s: HoldSnapshot): string {
  const r: SnapshotJson["r"] = {};
  for (const [prov, rp] of s.routes) {
    const p = rp.prices;
    const row: SnapshotJson["r"][string] = [p.input.toString(), p.output.toString(), p.cachedInput?.toString() ?? null, p.reasoning?.toString() ?? null, rp.markupPpm.toString()];
    r[prov] = p.cacheWrite != null ? [...row, p.cacheWrite.toString()] : row;
  }
  const j: SnapshotJson = {
    v: 1,
    rate: s.rateMicros.toString(),
    cur: s.currency,
    t: s.tariffId,
    mk: s.markupPpm.toString(),
    r,
    uh: s.unpricedHoldMicros?.toString() ?? null,
    mg: s.marginRule,
  };
  return JSON.stringify(j);
}

export function decodeSnapshot(raw: unknown): HoldSnapshot {
  const j = (typeof raw === "string" ? JSON.parse(raw) : raw) as SnapshotJson;
  const routes = new Map<string, RoutePricing>();
  for (const [prov, a] of Object.entries(j.r ?? {})) {
    routes.set(prov, {
      prices: {
        input: BigInt(a[0]),
        output: BigInt(a[1]),
        cachedInput: a[2] === null ? null : BigInt(a[2]),
        reasoning: a[3] === null ? null : BigInt(a[3]),
        ...(a[5] != null ? { cacheWrite: BigInt(a[5]) } : {}),
      },
      markupPpm: BigInt(a[4]),
    });
  }
  return {
    rateMicros: BigInt(j.rate),
    currency: j.cur,
    tariffId: j.t,
    markupPpm: BigInt(j.mk),
    routes,
    worst: worstOf([...routes.values()]),
    unpricedHoldMicros: j.uh === null || j.uh === undefined ? null : BigInt(j.uh),
    ...(j.mg ? { marginRule: j.mg } : {}),
  };
}

function maxB(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
function maxN(a: bigint | null, b: bigint | null): bigint | null {
  if (a === null) return b;
  if (b === null) return a;
  return maxB(a, b);
}

export function worstOf(routes: readonly RoutePricing[]): RoutePricing | null {
  if (routes.length === 0) return null;
  let w = routes[0]!;
  for (const r of routes.slice(1)) {
    w = {
      prices: {
        input: maxB(w.prices.input, r.prices.input),
        output: maxB(w.prices.output, r.prices.output),
        cachedInput: maxN(w.prices.cachedInput, r.prices.cachedInput),
        ...(w.prices.cacheWrite != null || r.prices.cacheWrite != null ? { cacheWrite: maxN(w.prices.cacheWrite ?? null, r.prices.cacheWrite ?? null) } : {}),
        reasoning: maxN(w.prices.reasoning, r.prices.reasoning),
      },
      markupPpm: maxB(w.markupPpm, r.markupPpm),
    };
  }
  return w;
}

/** The book row for a model on a provider: exact, then any-provider, then by the upstream's model name. */
export function findPrice(snap: BillingSnapshot, modelId: string, providerId: string, upstreamModel: string | null): PriceRow | null {
  const p = snap.prices;
  return (
    p.get(priceKey(modelId, providerId)) ??
    p.get(priceKey(modelId, "*")) ??
    (upstreamModel && upstreamModel !== modelId
      ? p.get(priceKey(upstreamModel, providerId)) ?? p.get(priceKey(upstreamModel, "*"))
      : undefined) ??
    null
  );
}

/** Markup precedence: tariff's per-model override → book's per-model markup → tariff markup. */
export function markupFor(snap: BillingSnapshot, tariff: TariffInfo, modelId: string, providerId: string): bigint {
  return (
    tariff.modelMarkups.get(modelId) ??
    snap.prices.get(priceKey(modelId, providerId))?.markupPpm ??
    snap.prices.get(priceKey(modelId, "*"))?.markupPpm ??
    tariff.markupPpm
  );
}

function fromRoute(p: { inputMicrosPerM: bigint; outputMicrosPerM: bigint; cachedInputMicrosPerM?: bigint; cacheWriteMicrosPerM?: bigint; reasoningMicrosPerM?: bigint }): UnitPrices {
  return { input: p.inputMicrosPerM, output: p.outputMicrosPerM, cachedInput: p.cachedInputMicrosPerM ?? null, cacheWrite: p.cacheWriteMicrosPerM ?? null, reasoning: p.reasoningMicrosPerM ?? null };
}

/**
 * Prices every route the request may take. The book (sync/admin) overrides the gateway config's
 * route price. Returns a plan with no routes when nothing is priced (the caller decides).
 */
export function buildPlan(snap: BillingSnapshot, tariff: TariffInfo, model: ResolvedModel, unpricedHoldMicros: bigint | null, defaultMarginRule: MarginRule = "charge_reported"): PricePlan {
  const routes = new Map<string, RoutePricing>();
  let maxOutput = model.maxOutput;
  const candidates = model.routes.length ? model.routes : [{ providerId: "*", upstreamModel: model.id, price: null }];
  for (const r of candidates) {
    if (routes.has(r.providerId)) continue;
    const row = findPrice(snap, model.id, r.providerId, r.upstreamModel);
    const prices = row ? row.prices : r.price ? fromRoute(r.price) : null;
    if (row?.maxOutput && maxOutput === null) maxOutput = row.maxOutput;
    if (!prices) continue;
    routes.set(r.providerId, { prices, markupPpm: markupFor(snap, tariff, model.id, r.providerId) });
  }
  const list = [...routes.values()];
  const snapshot: HoldSnapshot = {
    rateMicros: snap.rateMicros,
    currency: snap.currency,
    tariffId: tariff.id,
    markupPpm: tariff.markupPpm,
    routes,
    worst: worstOf(list),
    unpricedHoldMicros: list.length === 0 ? unpricedHoldMicros : null,
    marginRule: tariff.marginRule ?? defaultMarginRule,
  };
  return { snapshot, snapshotJson: encodeSnapshot(snapshot), rates: holdRates(list, snap.rateMicros), maxOutput };
}

export interface PricedUsage {
  priceMicros: bigint;
  costMicros: bigint;
  usage: CleanUsage;
  /** Set when the reported cost exceeded the list price (the margin guard acted). */
  margin: MarginFlag | null;
}

/**
 * The usage's sale price and upstream cost, from the hold's snapshot. The upstream-reported cost
 * (OpenRouter `usage.cost`), when present, is the cost; the sale price is list × rate × markup unless
 * the reported cost is above the list cost, where the snapshot's margin rule decides (margin.ts).
 */
export function priceUsage(s: HoldSnapshot, usage: TokenUsage, providerId: string | null, discountBp: number): PricedUsage {
  const clean = cleanUsage(usage);
  const pico = reportedUsdToPico(usage.upstreamCostUsd);
  const route = (providerId !== null ? s.routes.get(providerId) : undefined) ?? s.worst;
  if (!route) {
    if (pico !== null) {
      return { priceMicros: picoUsdToMicros(pico, s.rateMicros, s.markupPpm), costMicros: picoUsdToMicros(pico, s.rateMicros), usage: clean, margin: null };
    }
    // No price and no reported cost: the operator's fixed hold is the price of such a request.
    return { priceMicros: s.unpricedHoldMicros ?? 0n, costMicros: 0n, usage: clean, margin: null };
  }
  const w = usageWeight(route.prices, clean);
  const listPriceMicros = salePriceMicros(w, s.rateMicros, route.markupPpm);
  if (pico === null) return { priceMicros: listPriceMicros, costMicros: upstreamCostMicros(w, s.rateMicros, discountBp), usage: clean, margin: null };
  const reportedCostMicros = picoUsdToMicros(pico, s.rateMicros);
  const guarded = applyMarginRule({
    rule: s.marginRule ?? "list_price",
    listCostMicros: upstreamCostMicros(w, s.rateMicros),
    listPriceMicros,
    reportedCostMicros,
    reportedPriceMicros: picoUsdToMicros(pico, s.rateMicros, route.markupPpm),
  });
  return { priceMicros: guarded.priceMicros, costMicros: reportedCostMicros, usage: clean, margin: guarded.flag };
}
