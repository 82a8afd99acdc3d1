import { systemClock, type Clock } from "../core/clock.js";
import type { Rng } from "./rng.js";

export interface RetryPolicy {
  /** Upstream attempts per request, first one included (fallbacks to other routes count too). */
  maxAttempts: number;
  /** Backoff before re-trying an upstream that was already tried: full jitter in [0, min(max, base·2^n)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No new attempt starts after this long since the request began (the upstream total timeout still applies). */
  deadlineMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2000, deadlineMs: 30_000 };

/** "Full jitter" (AWS architecture blog): spreads synchronized retries of many clients evenly. */
export function backoffDelay(retry: number, p: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">, rng: Rng): number {
  const cap = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.floor(rng() * cap);
}

/**
 * The delay before the next attempt, or null when there is no time left: the delay (at least
 * the upstream's Retry-After, when it sent one) must end before the deadline.
 */
export function nextDelay(
  retry: number,
  p: RetryPolicy,
  rng: Rng,
  elapsedMs: number,
  retryAfterMs: number | null,
): number | null {
  const d = Math.max(backoffDelay(retry, p, rng), retryAfterMs ?? 0);
  return elapsedMs + d < p.deadlineMs ? d : null;
}

export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of recent requests to the same upstream. */
  ratio: number;
  /** Retries always allowed per window, so a quiet upstream can still be retried. */
  minPerWindow: number;
  windowMs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = { ratio: 0.2, minPerWindow: 10, windowMs: 10_000 };

/**
 * Per-upstream retry budget (the Finagle/Envoy idea): re-attempts on an upstream may not exceed
 * `ratio` of the requests it received in the window (plus a small floor). A dead upstream then
 * sees at most (1 + ratio)× its normal traffic instead of maxAttempts×. Process-local on purpose:
 * it protects the upstream from this process's amplification, which needs no coordination.
 */
export class RetryBudget {
  private readonly w = new Map<string, { epoch: number; requests: number; retries: number; prevRequests: number; prevRetries: number }>();
  constructor(
    readonly opts: RetryBudgetOptions = DEFAULT_RETRY_BUDGET,
    private readonly clock: Clock = systemClock,
  ) {}

  private slot(key: string) {
    const epoch = Math.floor(this.clock.now() / this.opts.windowMs);
    let s = this.w.get(key);
    if (!s) this.w.set(key, (s = { epoch, requests: 0, retries: 0, prevRequests: 0, prevRetries: 0 }));
    if (s.epoch !== epoch) {
      const adjacent = s.epoch === epoch - 1;
      s.prevRequests = adjacent ? s.requests : 0;
      s.prevRetries = adjacent ? s.retries : 0;
      s.requests = 0;
      s.retries = 0;
      s.epoch = epoch;
    }
    return s;
  }

  /** Count a first attempt of a request on this upstream. */
  onRequest(key: string): void {
    this.slot(key).requests++;
  }

  /** Take one retry from the budget; false means "do not retry this upstream now". */
  tryRetry(key: string): boolean {
    const s = this.slot(key);
    const requests = s.requests + s.prevRequests;
    const retries = s.retries + s.prevRetries;
    if (retries >= Math.max(this.opts.minPerWindow, this.opts.ratio * requests)) return false;
    s.retries++;
    return true;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
