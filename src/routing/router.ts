import type { ProviderConfig } from "../config/gateway-config.js";
import type { ModelPrice, ResolvedModel, Route } from "../contracts/request.js";
import { breakerKey, type CircuitBreakers } from "./circuit-breaker.js";
import { defaultRng, type Rng } from "./rng.js";
import type { LiveUpstreamAccount, RoutingSnapshot } from "./store.js";
import { tieredOrder, weightedOrder } from "./weighted.js";

/** OpenRouter's `provider` request object, the parts our own router honours. */
export interface ProviderPreferences {
  /** Try these providers first, in this order. */
  order?: string[];
  /** Only these providers. */
  only?: string[];
  /** Never these providers. */
  ignore?: string[];
  /** false: no provider outside `order` (and no second route at all without `order`). */
  allow_fallbacks?: boolean;
}

/** One upstream attempt the executor may make, in order. */
export interface Attempt {
  modelId: string;
  providerId: string;
  upstreamModel: string;
  account: LiveUpstreamAccount | null;
  upstreamAccountId: string | null;
  breakerKey: string;
  price: ModelPrice | null;
}

export interface SkippedUpstream {
  providerId: string;
  upstreamAccountId: string | null;
  breakerKey: string;
  reason: "circuit_open";
  retryAt: number | null;
}

export interface Plan {
  attempts: Attempt[];
  skipped: SkippedUpstream[];
}

interface ProviderInfo {
  type: ProviderConfig["type"];
  enabled: boolean;
}

export interface RouterOptions {
  /** Current runtime routing state (admin tables). */
  snapshot: () => RoutingSnapshot;
  /** Providers of the config file (and env shortcuts). */
  configProviders: readonly ProviderConfig[];
  breakers: CircuitBreakers;
  rng?: Rng;
}

/**
 * Turns a resolved model into the ordered list of upstream attempts: routes merged with runtime
 * overrides, filtered by provider state and client preferences, priority tiers in order with a
 * weighted shuffle inside each, every route expanded into its provider's upstream accounts
 * (weighted, accounts known to be out of balance last), and open circuits skipped.
 */
export class Router {
  private readonly snapshot: () => RoutingSnapshot;
  private readonly configProviders: readonly ProviderConfig[];
  readonly breakers: CircuitBreakers;
  private readonly rng: Rng;
  private cachedFor: RoutingSnapshot | null = null;
  private providerMap = new Map<string, ProviderInfo>();

  constructor(o: RouterOptions) {
    this.snapshot = o.snapshot;
    this.configProviders = o.configProviders;
    this.breakers = o.breakers;
    this.rng = o.rng ?? defaultRng;
  }

  private providers(snap: RoutingSnapshot): Map<string, ProviderInfo> {
    if (this.cachedFor !== snap) {
      const m = new Map<string, ProviderInfo>();
      for (const p of this.configProviders) m.set(p.id, { type: p.type, enabled: p.enabled });
      for (const p of snap.providers) if (!m.has(p.id)) m.set(p.id, { type: p.type, enabled: p.enabled });
      this.providerMap = m;
      this.cachedFor = snap;
    }
    return this.providerMap;
  }

  providerType(id: string): ProviderConfig["type"] | null {
    return this.providers(this.snapshot()).get(id)?.type ?? null;
  }

  /** The model's routes with runtime rows applied (overrides by provider+upstream model, then additions). */
  routesOf(model: ResolvedModel, snap: RoutingSnapshot = this.snapshot()): Route[] {
    const rows = snap.routesByModel.get(model.id);
    if (!rows || rows.length === 0) return model.routes;
    const price = model.routes[0]?.price ?? null;
    const out: Route[] = [];
    const used = new Set<string>();
    for (const r of model.routes) {
      const o = rows.find((x) => x.providerId === r.providerId && x.upstreamModel === r.upstreamModel);
      if (!o) out.push(r);
      else {
        used.add(o.id);
        if (o.enabled) out.push({ ...r, priority: o.priority, weight: o.weight });
      }
    }
    for (const o of rows) {
      if (used.has(o.id) || !o.enabled) continue;
      out.push({ providerId: o.providerId, upstreamModel: o.upstreamModel, priority: o.priority, weight: o.weight, price });
    }
    // A runtime route for a model the catalog only passes through replaces the default route.
    if (model.passthrough && out.length > model.routes.length) return out.slice(model.routes.length);
    return out;
  }

  /**
   * `includeOpen`: keep candidates whose circuit is open in the list (the executor's acquire() then
   * denies them and logs the skip); by default they are left out and listed in `skipped`.
   */
  plan(model: ResolvedModel, prefs?: ProviderPreferences | null, opts?: { includeOpen?: boolean }): Plan {
    const snap = this.snapshot();
    const providers = this.providers(snap);
    let routes = this.routesOf(model, snap).filter((r) => providers.get(r.providerId)?.enabled === true);
    if (prefs) routes = applyPreferences(routes, prefs, this.rng);
    else routes = tieredOrder(routes, priorityOf, weightOf, this.rng);
    const attempts: Attempt[] = [];
    const skipped: SkippedUpstream[] = [];
    const includeOpen = opts?.includeOpen === true;
    for (const r of routes) {
      const accounts = snap.accountsByProvider.get(r.providerId);
      if (!accounts || accounts.length === 0) {
        this.push(attempts, skipped, model.id, r, null, includeOpen);
        continue;
      }
      const ordered = accounts.length === 1 ? accounts : orderAccounts(accounts, this.rng);
      for (const a of ordered) this.push(attempts, skipped, model.id, r, a, includeOpen);
    }
    return { attempts, skipped };
  }

  private push(attempts: Attempt[], skipped: SkippedUpstream[], modelId: string, r: Route, a: LiveUpstreamAccount | null, includeOpen: boolean) {
    const key = breakerKey(r.providerId, a?.id ?? null);
    const p = this.breakers.peek(key);
    if (!p.available) {
      skipped.push({ providerId: r.providerId, upstreamAccountId: a?.id ?? null, breakerKey: key, reason: "circuit_open", retryAt: p.retryAt });
      if (!includeOpen) return;
    }
    attempts.push({ modelId, providerId: r.providerId, upstreamModel: r.upstreamModel, account: a, upstreamAccountId: a?.id ?? null, breakerKey: key, price: r.price });
  }
}

const priorityOf = (r: Route) => r.priority;
const weightOf = (r: Route) => r.weight;
const accountWeight = (a: LiveUpstreamAccount) => a.weight;

function orderAccounts(accounts: readonly LiveUpstreamAccount[], rng: Rng): LiveUpstreamAccount[] {
  const funded: LiveUpstreamAccount[] = [];
  const empty: LiveUpstreamAccount[] = [];
  for (const a of accounts) (a.balanceMicros !== null && a.balanceMicros <= 0n ? empty : funded).push(a);
  const out = weightedOrder(funded, accountWeight, rng);
  for (const a of empty) out.push(a);
  return out;
}

/** OpenRouter semantics over our routes: only/ignore filter, `order` first, allow_fallbacks=false stops there. */
export function applyPreferences(routes: Route[], prefs: ProviderPreferences, rng: Rng): Route[] {
  let rs = routes;
  if (prefs.only?.length) {
    const only = new Set(prefs.only);
    rs = rs.filter((r) => only.has(r.providerId));
  }
  if (prefs.ignore?.length) {
    const ignore = new Set(prefs.ignore);
    rs = rs.filter((r) => !ignore.has(r.providerId));
  }
  const ordered = tieredOrder(rs, priorityOf, weightOf, rng);
  if (prefs.order?.length) {
    const rank = new Map(prefs.order.map((p, i) => [p, i]));
    const first = ordered.filter((r) => rank.has(r.providerId)).sort((a, b) => rank.get(a.providerId)! - rank.get(b.providerId)!);
    if (prefs.allow_fallbacks === false) return first;
    return [...first, ...ordered.filter((r) => !rank.has(r.providerId))];
  }
  if (prefs.allow_fallbacks === false) return ordered.slice(0, 1);
  return ordered;
}

/** Reads OpenRouter's `provider` object from a request body; junk is ignored, never an error. */
export function parseProviderPreferences(v: unknown): ProviderPreferences | null {
  if (!v || typeof v !== "object" || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const list = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : undefined);
  const prefs: ProviderPreferences = {
    order: list(o.order),
    only: list(o.only),
    ignore: list(o.ignore),
    allow_fallbacks: typeof o.allow_fallbacks === "boolean" ? o.allow_fallbacks : undefined,
  };
  if (!prefs.order && !prefs.only && !prefs.ignore && prefs.allow_fallbacks === undefined) return null;
  return prefs;
}
