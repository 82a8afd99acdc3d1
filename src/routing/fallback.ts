import { systemClock, type Clock } from "../core/clock.js";
import { AppError } from "../core/errors.js";
import type { Admission, CircuitBreakers } from "./circuit-breaker.js";
import { classifyFailure, finalError, type AttemptFailure, type FailureClass, type FailureReason } from "./classify.js";
import { nextDelay, sleep, type RetryBudget, type RetryPolicy } from "./retry.js";
import { defaultRng, type Rng } from "./rng.js";

/** What the loop needs to know about one planned attempt. */
export interface Candidate {
  breakerKey: string;
  providerId: string;
  upstreamAccountId: string | null;
  upstreamModel: string;
}

export type AttemptOutcome<T> = { ok: true; value: T } | { ok: false; failure: AttemptFailure };

export interface TryRecord {
  providerId: string;
  upstreamAccountId: string | null;
  upstreamModel: string;
  outcome: "ok" | FailureReason | "circuit_open" | "retry_budget";
  ms: number;
}

export type RunResult<T, C extends Candidate = Candidate> =
  | {
      ok: true;
      value: T;
      attempt: C;
      /** Upstream calls made (skipped circuits not counted). */
      attempts: number;
      tries: TryRecord[];
      /**
       * Report how the response finally went (after the stream or body ended) to the breaker.
       * `false` for an upstream failure after the first byte. Call once; later calls do nothing.
       */
      settle(ok: boolean): Promise<void>;
    }
  | { ok: false; error: AppError; attempts: number; tries: TryRecord[]; failures: FailureClass[] };

export interface RunDeps {
  policy: RetryPolicy;
  budget: RetryBudget;
  breakers: CircuitBreakers;
  rng?: Rng;
  clock?: Clock;
  /** The client's request: aborted → stop trying. */
  signal?: AbortSignal;
  /** When the request started (for the overall deadline); defaults to now. */
  startedAt?: number;
}

/**
 * The fallback/retry loop. `call` makes one upstream attempt and must return ok as soon as the
 * response is committed to the client (after that, nothing here retries: a later failure is the
 * caller's to end with an error event, and to report through settle(false)).
 *
 * Order: every planned attempt once (fallback, no delay — it's a different upstream or model);
 * then, while attempts and time remain, attempts whose failure was transient on that upstream
 * again, each after a full-jitter backoff (at least the upstream's Retry-After) and only if the
 * upstream's retry budget allows it.
 */
export async function runWithFallback<T, C extends Candidate>(
  plan: readonly C[],
  call: (attempt: C, index: number) => Promise<AttemptOutcome<T>>,
  deps: RunDeps,
): Promise<RunResult<T, C>> {
  const clock = deps.clock ?? systemClock;
  const rng = deps.rng ?? defaultRng;
  const { policy, budget, breakers } = deps;
  const started = deps.startedAt ?? clock.now();
  const tries: TryRecord[] = [];
  const failures: FailureClass[] = [];
  let made = 0;
  let retries = 0;
  let round: readonly C[] = plan;
  let first = true;
  const transient = new Map<C, FailureClass>();

  while (round.length > 0) {
    const nextRound: C[] = [];
    for (const a of round) {
      if (made >= policy.maxAttempts) return fail();
      if (deps.signal?.aborted) return fail(new AppError("upstream_error", "request aborted", { status: 499 }));
      const elapsed = clock.now() - started;
      if (elapsed >= policy.deadlineMs) return fail();
      if (!first) {
        if (!budget.tryRetry(a.breakerKey)) {
          tries.push(rec(a, "retry_budget", 0));
          continue;
        }
        const prev = transient.get(a);
        const delay = nextDelay(retries, policy, rng, elapsed, prev?.retryAfterMs ?? null);
        if (delay === null) return fail();
        retries++;
        try {
          await sleep(delay, deps.signal);
        } catch {
          return fail(new AppError("upstream_error", "request aborted", { status: 499 }));
        }
      }
      const admission = await breakers.acquire(a.breakerKey);
      if (admission === "deny") {
        tries.push(rec(a, "circuit_open", 0));
        continue;
      }
      if (first) budget.onRequest(a.breakerKey);
      made++;
      const t0 = clock.now();
      let out: AttemptOutcome<T>;
      try {
        out = await call(a, made - 1);
      } catch (e) {
        // A bug in `call` must not look like an upstream failure; give back the probe lease.
        if (admission === "probe") void breakers.record(a.breakerKey, true, admission);
        throw e;
      }
      if (out.ok) {
        tries.push(rec(a, "ok", clock.now() - t0));
        return { ok: true, value: out.value, attempt: a, attempts: made, tries, settle: settler(breakers, a.breakerKey, admission) };
      }
      const cls = classifyFailure(out.failure, clock.now());
      tries.push(rec(a, cls.reason, clock.now() - t0));
      if (cls.reason !== "client_gone") void breakers.record(a.breakerKey, !cls.breakerFailure, admission);
      failures.push(cls);
      if (!cls.retryable) return fail(cls.error);
      if (cls.sameUpstream) {
        transient.set(a, cls);
        nextRound.push(a);
      }
    }
    first = false;
    round = nextRound;
  }
  return fail();

  function fail(error?: AppError): RunResult<T, C> {
    let err = error ?? finalError(failures);
    if (!error && failures.length === 0 && tries.some((t) => t.outcome === "circuit_open")) {
      err = new AppError("upstream_unavailable", "every upstream for this model is temporarily disabled (circuit open)");
    }
    return { ok: false, error: err, attempts: made, tries, failures };
  }
}

function rec(a: Candidate, outcome: TryRecord["outcome"], ms: number): TryRecord {
  return { providerId: a.providerId, upstreamAccountId: a.upstreamAccountId, upstreamModel: a.upstreamModel, outcome, ms };
}

function settler(breakers: CircuitBreakers, key: string, admission: Admission) {
  let done = false;
  return (ok: boolean): Promise<void> => {
    if (done) return Promise.resolve();
    done = true;
    return breakers.record(key, ok, admission);
  };
}
