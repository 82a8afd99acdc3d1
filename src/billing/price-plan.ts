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
  /**
   * The client's `models` fallbacks, each with its own routes (provider id → price and the
   * upstream's model name): a request a fallback served is priced as that model. Holds from before
   * fallbacks were priced have none (everything priced as the requested model).
   */
  fallbacks?: FallbackPricing[];
}

export interface FallbackPricing {
  modelId: string;
  routes: Map<string, { pricing: RoutePricing; upstreamModel: string }>;
}

/** What settlement knows of the model that served: the planned catalog model and the upstream's name for it. */
export interface ServedModel {
  modelId?: string | null;
  upstreamModel?: string | null;
}

export interface PricePlan {
  snapshot: HoldSnapshot;
  /** snapshot as the jsonb the hold row stores (computed once per plan). */
  snapshotJson: string;
  rates: HoldRates;
  maxOutput: number | null;
}

/** input, output, cached input, reasoning, markup, cache write (added later: older holds have five). */
type RouteJson = [string, string, string | null, string | null, string] | [string, string, string | null, string | null, string, string | null];

type SnapshotJson = {
  v: 1;
  rate: string;
  cur: string;
  t: string;
  mk: string;
  r: Record<string, RouteJson>;
  uh: string | null;
  mg?: MarginRule;
  /** Fallback models (added later): model id, then provider id → [upstream model, ...route]. */
  fm?: Array<[string, Record<string, [string, ...RouteJson]>]>;
};

function encodeRoute(rp: RoutePricing): RouteJson {
  const p = rp.prices;
  const row: RouteJson = [p.input.toString(), p.output.toString(), p.cachedInput?.toString() ?? null, p.reasoning?.toString() ?? null, rp.markupPpm.toString()];
  return p.cacheWrite != null ? [...row, p.cacheWrite.toString()] : row;
}

function decodeRoute(a: RouteJson): RoutePricing {
  return {
    prices: {
      input: BigInt(a[0]),
      output: BigInt(a[1]),
      cachedInput: a[2] === null ? null : BigInt(a[2]),
      reasoning: a[3] === null ? null : BigInt(a[3]),
      ...(a[5] != null ? { cacheWrite: BigInt(a[5]) } : {}),
    },
    markupPpm: BigInt(a[4]),
  };
}

export function encodeSnapshot(s: HoldSnapshot): string {
  const r: SnapshotJson["r"] = {};
  for (const [prov, rp] of s.routes) r[prov] = encodeRoute(rp);
  const fm = s.fallbacks?.length
    ? s.fallbacks.map((f): [string, Record<string, [string, ...RouteJson]>] => [f.modelId, Object.fromEntries([...f.routes].map(([prov, x]) => [prov, [x.upstreamModel, ...encodeRoute(x.pricing)]]))])
    : undefined;
  const j: SnapshotJson = {
    v: 1,
    rate: s.rateMicros.toString(),
    cur: s.currency,
    t: s.tariffId,
    mk: s.markupPpm.toString(),
    r,
    uh: s.unpricedHoldMicros?.toString() ?? null,
    mg: s.marginRule,
    ...(fm ? { fm } : {}),
  };
  return JSON.stringify(j);
}

export function decodeSnapshot(raw: unknown): HoldSnapshot {
  const j = (typeof raw === "string" ? JSON.parse(raw) : raw) as SnapshotJson;
  const routes = new Map<string, RoutePricing>();
  for (const [prov, a] of Object.entries(j.r ?? {})) routes.set(prov, decodeRoute(a));
  const fallbacks: FallbackPricing[] = (j.fm ?? []).map(([modelId, rs]) => ({
    modelId,
    routes: new Map(Object.entries(rs).map(([prov, [upstreamModel, ...a]]) => [prov, { upstreamModel, pricing: decodeRoute(a as RouteJson) }])),
  }));
  return {
    rateMicros: BigInt(j.rate),
    currency: j.cur,
    tariffId: j.t,
    markupPpm: BigInt(j.mk),
    routes,
    worst: worstOf([...routes.values(), ...fallbacks.flatMap((f) => [...f.routes.values()].map((x) => x.pricing))]),
    unpricedHoldMicros: j.uh === null || j.uh === undefined ? null : BigInt(j.uh),
    ...(j.mg ? { marginRule: j.mg } : {}),
    ...(fallbacks.length ? { fallbacks } : {}),
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
/** One model's priced routes (provider id → price, and the upstream's name for the model there). */
function priceRoutes(snap: BillingSnapshot, tariff: TariffInfo, model: ResolvedModel): { routes: Map<string, { pricing: RoutePricing; upstreamModel: string }>; maxOutput: number | null } {
  const routes = new Map<string, { pricing: RoutePricing; upstreamModel: string }>();
  let maxOutput = model.maxOutput;
  const candidates = model.routes.length ? model.routes : [{ providerId: "*", upstreamModel: model.id, price: null }];
  for (const r of candidates) {
    if (routes.has(r.providerId)) continue;
    const row = findPrice(snap, model.id, r.providerId, r.upstreamModel);
    const prices = row ? row.prices : r.price ? fromRoute(r.price) : null;
    if (row?.maxOutput && maxOutput === null) maxOutput = row.maxOutput;
    if (!prices) continue;
    routes.set(r.providerId, { pricing: { prices, markupPpm: markupFor(snap, tariff, model.id, r.providerId) }, upstreamModel: r.upstreamModel });
  }
  return { routes, maxOutput };
}

/**
 * Prices every route the request may take: the model's and, for a `models` list, every fallback
 * model's, so the hold covers the dearest (model, route) of them all and settlement prices the one
 * that served. The book (sync/admin) overrides the gateway config's route price. Returns a plan
 * with no routes when the model itself is not priced (the caller decides).
 */
export function buildPlan(
  snap: BillingSnapshot,
  tariff: TariffInfo,
  model: ResolvedModel,
  unpricedHoldMicros: bigint | null,
  defaultMarginRule: MarginRule = "charge_reported",
  fallbackModels: readonly ResolvedModel[] = [],
): PricePlan {
  const own = priceRoutes(snap, tariff, model);
  const routes = new Map([...own.routes].map(([prov, x]) => [prov, x.pricing]));
  const fallbacks: FallbackPricing[] = [];
  for (const m of fallbackModels) {
    if (m.id === model.id || fallbacks.some((f) => f.modelId === m.id)) continue;
    const priced = priceRoutes(snap, tariff, m).routes;
    if (priced.size) fallbacks.push({ modelId: m.id, routes: priced });
  }
  const list = [...routes.values()];
  const all = [...list, ...fallbacks.flatMap((f) => [...f.routes.values()].map((x) => x.pricing))];
  const snapshot: HoldSnapshot = {
    rateMicros: snap.rateMicros,
    currency: snap.currency,
    tariffId: tariff.id,
    markupPpm: tariff.markupPpm,
    routes,
    worst: worstOf(all),
    unpricedHoldMicros: list.length === 0 ? unpricedHoldMicros : null,
    marginRule: tariff.marginRule ?? defaultMarginRule,
    ...(fallbacks.length ? { fallbacks } : {}),
  };
  return { snapshot, snapshotJson: encodeSnapshot(snapshot), rates: holdRates(list.length ? all : list, snap.rateMicros), maxOutput: own.maxOutput };
}

/**
 * The route a served request is priced at: a fallback model's when the upstream names it (OpenRouter
 * serving the client's `models` list itself) or the planner sent the attempt for it, else the
 * requested model's route on that provider, else the dearest route of the plan.
 */
function routeFor(s: HoldSnapshot, providerId: string | null, served: ServedModel | undefined): RoutePricing | null {
  if (providerId !== null && s.fallbacks && served) {
    const planned = served.modelId ? s.fallbacks.find((x) => x.modelId === served.modelId) : undefined;
    if (planned) return planned.routes.get(providerId)?.pricing ?? s.worst;
    const name = served.upstreamModel ?? null;
    if (name) {
      for (const f of s.fallbacks) {
        const r = f.routes.get(providerId);
        // The planned model is known: only an exact name says the upstream served another. Unknown
        // (the sweeper has the log row's name, with the provider's model prefix): the name's tail.
        if (r && (name === r.upstreamModel || name === f.modelId || (!served.modelId && name.endsWith(`/${r.upstreamModel}`)))) return r.pricing;
      }
    }
  }
  return (providerId !== null ? s.routes.get(providerId) : undefined) ?? s.worst;
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
export function priceUsage(s: HoldSnapshot, usage: TokenUsage, providerId: string | null, discountBp: number, served?: ServedModel): PricedUsage {
  const clean = cleanUsage(usage);
  const pico = reportedUsdToPico(usage.upstreamCostUsd);
  const route = routeFor(s, providerId, served);
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
