import type { ProviderTarget } from "../providers/index.js";
import { upstreamModelName } from "../providers/index.js";
import type { ResolvedModel, ServedBy } from "./types.js";

/** One upstream try: where to send and what it will be billed as. */
export interface Attempt {
  target: ProviderTarget;
  served: ServedBy;
  /** Circuit-breaker key (routing); default `prv:<provider id>`. */
  breakerKey?: string;
}

export interface AttemptPlanner {
  /** Ordered attempts for this model: first is preferred; later ones are fallbacks. */
  plan(model: ResolvedModel, body: Record<string, unknown>): Attempt[];
  /** Outcome feedback (circuit breakers, retry budgets). */
  report?(attempt: Attempt, outcome: { ok: boolean; retryable: boolean; status?: number; latencyMs: number }): void;
}

/**
 * Default planner: priority tiers in order; inside a tier, weighted random order. Disabled or
 * unknown providers are skipped.
 */
export class SimplePlanner implements AttemptPlanner {
  constructor(private readonly providers: () => ReadonlyMap<string, ProviderTarget>, private readonly random: () => number = Math.random) {}

  plan(model: ResolvedModel): Attempt[] {
    const providers = this.providers();
    const out: Attempt[] = [];
    const routes = model.routes;
    let i = 0;
    while (i < routes.length) {
      let j = i;
      while (j < routes.length && routes[j]!.priority === routes[i]!.priority) j++;
      const tier = routes.slice(i, j);
      for (const r of tier.length > 1 ? weightedOrder(tier, this.random) : tier) {
        const target = providers.get(r.providerId);
        if (!target || !target.enabled) continue;
        out.push({
          target,
          served: { providerId: target.id, upstreamAccountId: null, upstreamModel: upstreamModelName(target, r.upstreamModel), discountBp: 0, price: r.price },
        });
      }
      i = j;
    }
    return out;
  }
}

function weightedOrder<T extends { weight: number }>(items: T[], random: () => number): T[] {
  const pool = items.filter((x) => x.weight > 0);
  const out: T[] = [];
  while (pool.length) {
    const total = pool.reduce((s, x) => s + x.weight, 0);
    let r = random() * total;
    let k = 0;
    for (; k < pool.length - 1; k++) {
      r -= pool[k]!.weight;
      if (r < 0) break;
    }
    out.push(pool.splice(k, 1)[0]!);
  }
  return out;
}

/** An attempt as the fallback loop (src/routing/fallback.ts) sees it: the breaker to consult and what it serves. */
export interface AttemptCandidate {
  breakerKey: string;
  providerId: string;
  upstreamAccountId: string | null;
  upstreamModel: string;
  attempt: Attempt;
}

export function toCandidates(attempts: Attempt[]): AttemptCandidate[] {
  return attempts.map((attempt) => ({
    breakerKey: attempt.breakerKey ?? `prv:${attempt.target.id}`,
    providerId: attempt.served.providerId,
    upstreamAccountId: attempt.served.upstreamAccountId,
    upstreamModel: attempt.served.upstreamModel,
    attempt,
  }));
}
