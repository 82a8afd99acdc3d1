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
  /**
   * Ordered attempts for this model: first is preferred; later ones are fallbacks. `fallbacks` is
   * the client's `models` list as the caller already resolved and checked it; absent, the planner
   * reads `body.models` itself.
   */
  plan(model: ResolvedModel, body: Record<string, unknown>, fallbacks?: readonly ResolvedModel[]): UpstreamAttempt[];
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

/** An account's own upstream key (src/upstream-keys); null = the provider's key. Synchronous while cached. */
export interface AccountUpstreamKeys {
  keyFor(accountId: string): string | null | Promise<string | null>;
}

/**
 * OpenRouter attempts sent with the provider's own key go out with the account's key instead.
 * Attempts through an upstream (master) account keep that account's key: its balance and discount
 * are what billing records for them.
 */
export function withAccountKey(keys: AccountUpstreamKeys | undefined, accountId: string, attempts: UpstreamAttempt[]): UpstreamAttempt[] | Promise<UpstreamAttempt[]> {
  if (!keys || !attempts.some(usesProviderKey)) return attempts;
  const found = keys.keyFor(accountId);
  // Synchronous unless the key is being looked up or made (an account's first OpenRouter request).
  return typeof found === "string" || found === null ? swapKey(attempts, found) : found.then((k) => swapKey(attempts, k));
}

function swapKey(attempts: UpstreamAttempt[], key: string | null): UpstreamAttempt[] {
  if (key === null) return attempts;
  return attempts.map((a) => (usesProviderKey(a) ? { ...a, target: { ...a.target, apiKey: key } } : a));
}

const usesProviderKey = (a: UpstreamAttempt) => a.target.type === "openrouter" && a.served.upstreamAccountId === null;
