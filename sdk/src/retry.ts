export interface RetryOptions {
  /** Attempts after the first (default 2). */
  maxRetries: number;
  /** First backoff (default 500 ms); doubles each time, with jitter, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxRetries: 2, baseDelayMs: 500, maxDelayMs: 8000 };

/** `Retry-After` as seconds: a number of seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterSeconds(h: string | null, now = Date.now()): number | null {
  if (!h) return null;
  if (/^\d+(\.\d+)?$/.test(h.trim())) return Number(h);
  const t = Date.parse(h);
  return Number.isNaN(t) ? null : Math.max(0, (t - now) / 1000);
}

/**
 * Whether an answer is worth another try. 429 and 503 mean the gateway did not act on the request,
 * so any method is retried; other 5xx (502 upstream error, 504 timeout, 500) only for methods that
 * are safe to repeat, because a POST may have been carried out before the failure.
 */
export function shouldRetry(status: number, method: string): boolean {
  if (status === 429 || status === 503) return true;
  if (status >= 500) return method === "GET" || method === "PUT" || method === "DELETE" || method === "HEAD";
  return false;
}

/** Delay before retry `attempt` (1-based): Retry-After when given (capped), else exponential with jitter. */
export function backoffMs(attempt: number, retryAfterSec: number | null, o: RetryOptions, rand = Math.random): number {
  if (retryAfterSec !== null) return Math.min(retryAfterSec * 1000, o.maxDelayMs * 4);
  const exp = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exp / 2 + (rand() * exp) / 2);
}
