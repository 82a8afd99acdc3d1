import type { ResolvedModel, ServedBy } from "../contracts/request.js";
import type { ProviderTarget } from "../providers/index.js";

/** One upstream try: where to send and what it will be billed as. */
export interface UpstreamAttempt {
  target: ProviderTarget;
  served: ServedBy;
  /** Circuit-breaker key; default `prv:<provider id>`. */
  breakerKey?: string;
}

export interface AttemptPlanner {
  /** Ordered attempts for this model: first is preferred; later ones are fallbacks. */
  plan(model: ResolvedModel, body: Record<string, unknown>): UpstreamAttempt[];
}

/** An attempt as the fallback loop (fallback.ts) sees it: the breaker to consult and what it serves. */
export interface AttemptCandidate {
  breakerKey: string;
  providerId: string;
  upstreamAccountId: string | null;
  upstreamModel: string;
  attempt: UpstreamAttempt;
}

export function toCandidates(attempts: UpstreamAttempt[]): AttemptCandidate[] {
  return attempts.map((attempt) => ({
    breakerKey: attempt.breakerKey ?? `prv:${attempt.target.id}`,
    providerId: attempt.served.providerId,
    upstreamAccountId: attempt.served.upstreamAccountId,
    upstreamModel: attempt.served.upstreamModel,
    attempt,
  }));
}
