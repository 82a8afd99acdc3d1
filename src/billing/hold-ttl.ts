/**
 * How long a hold must live: longer than the longest the request can take, or the sweeper would
 * settle (or release) a hold still in use.
 *
 * A request makes at most `maxAttempts` upstream attempts; each lasts at most its provider's total
 * timeout; backoffs between them last at most `maxDelayMs` each; and no attempt starts after
 * `deadlineMs` (src/routing/fallback.ts). So it ends within
 *   min(Σ of the `maxAttempts` longest totals + (maxAttempts − 1) × maxDelayMs,  deadlineMs + longest total)
 * — the longest *planned* route counts, also when it is a fallback. Streams are covered beyond that
 * by the progress heartbeat (stream-progress.ts), which keeps extending a live stream's hold.
 */
export interface HoldTtlInput {
  /** Total timeout of every planned attempt (ms), in any order. */
  attemptTotalsMs: readonly number[];
  maxAttempts: number;
  maxDelayMs: number;
  deadlineMs: number;
  /** The configured hold TTL (BILLING_HOLD_TTL_MS): never shorter than this. */
  floorMs: number;
  /** Added on top, for the settlement itself and clock skew between processes. */
  marginMs?: number;
}

export function holdTtlMs(i: HoldTtlInput): number {
  const margin = i.marginMs ?? 60_000;
  if (i.attemptTotalsMs.length === 0) return i.floorMs;
  const sorted = [...i.attemptTotalsMs].sort((a, b) => b - a);
  const n = Math.max(1, i.maxAttempts);
  // Fewer routes than attempts: retries may repeat the longest one every time.
  const sum = sorted.length >= n ? sorted.slice(0, n).reduce((a, b) => a + b, 0) : sorted[0]! * n;
  const byAttempts = sum + (n - 1) * Math.max(0, i.maxDelayMs);
  const byDeadline = i.deadlineMs + sorted[0]!;
  return Math.max(i.floorMs, Math.min(byAttempts, byDeadline) + margin);
}
