import type { Catalog } from "../catalog/index.js";
import { upstreamModelName, type ProviderTarget } from "../providers/index.js";
import type { ResolvedModel } from "../contracts/request.js";
import type { AttemptPlanner, UpstreamAttempt } from "./attempt.js";
import { parseProviderPreferences, type Attempt, type ProviderPreferences, type Router } from "./router.js";

/**
 * The AttemptPlanner backed by the router: ordered attempts over routes × upstream
 * accounts, open circuits skipped, each attempt carrying its account's key and discount.
 *
 * Client routing fields: the body always reaches the upstream untouched, so an OpenRouter route
 * applies `models` and `provider` itself. Our own router also honours them: `provider` filters and
 * orders our routes (names that are not our provider ids are left to OpenRouter), and each model
 * of `models` adds its routes after the requested model's, skipping OpenRouter routes when an
 * OpenRouter attempt (which already has the list) is planned.
 */
export class RoutingPlanner implements AttemptPlanner {
  constructor(
    private readonly router: Router,
    private readonly targets: () => ReadonlyMap<string, ProviderTarget>,
    private readonly catalog: Pick<Catalog, "resolve"> | null,
    /** Most extra models taken from a client's `models` list. */
    private readonly maxFallbackModels = 3,
  ) {}

  plan(model: ResolvedModel, body: Record<string, unknown>, fallbacks?: readonly ResolvedModel[]): UpstreamAttempt[] {
    const targets = this.targets();
    const prefs = this.preferences(body.provider, targets);
    const out: UpstreamAttempt[] = [];
    let openrouterPlanned = false;
    const add = (m: ResolvedModel, extra: boolean) => {
      // Open circuits stay in the list: the executor skips them (and logs the skip) at acquire time.
      for (const a of this.router.plan(m, prefs, { includeOpen: true }).attempts) {
        const t = targets.get(a.providerId);
        if (!t || !t.enabled) continue;
        if (extra && openrouterPlanned && t.type === "openrouter") continue;
        if (t.type === "openrouter") openrouterPlanned = true;
        out.push(toUpstreamAttempt(a, t, m.id));
      }
    };
    add(model, false);
    for (const m of (fallbacks ?? this.fallbacksOf(model, body.models)).slice(0, this.maxFallbackModels)) add(m, true);
    return out;
  }

  /** The client's `models` list resolved (unknown and repeated names skipped), for callers that did not. */
  private fallbacksOf(model: ResolvedModel, models: unknown): ResolvedModel[] {
    if (!Array.isArray(models) || !this.catalog) return [];
    const seen = new Set([model.id, model.requested]);
    const out: ResolvedModel[] = [];
    for (const name of models) {
      if (typeof name !== "string" || seen.has(name)) continue;
      const m = this.catalog.resolve(name);
      seen.add(name);
      if (!m || (m.id !== name && seen.has(m.id))) continue;
      seen.add(m.id);
      out.push(m);
    }
    return out;
  }

  /** Keeps only the provider names that are ours; the rest are OpenRouter's business. */
  private preferences(v: unknown, targets: ReadonlyMap<string, ProviderTarget>): ProviderPreferences | null {
    const p = parseProviderPreferences(v);
    if (!p) return null;
    const ours = (l: string[] | undefined) => {
      const f = l?.filter((x) => targets.has(x));
      return f && f.length ? f : undefined;
    };
    const prefs: ProviderPreferences = { order: ours(p.order), only: ours(p.only), ignore: ours(p.ignore) };
    // allow_fallbacks=false only binds our router when the client named our providers in `order`.
    if (prefs.order && p.allow_fallbacks === false) prefs.allow_fallbacks = false;
    return prefs.order || prefs.only || prefs.ignore ? prefs : null;
  }
}

/** `modelId`: the catalog model the attempt serves (a `models` fallback is priced as itself). */
export function toUpstreamAttempt(a: Attempt, t: ProviderTarget, modelId?: string): UpstreamAttempt {
  const target = a.account ? { ...t, apiKey: a.account.apiKey } : t;
  return {
    target,
    breakerKey: a.breakerKey,
    served: {
      providerId: t.id,
      upstreamAccountId: a.account?.id ?? null,
      upstreamModel: upstreamModelName(t, a.upstreamModel),
      discountBp: a.account?.discountBp ?? 0,
      price: a.price,
      ...(modelId !== undefined ? { modelId } : {}),
    },
  };
}
