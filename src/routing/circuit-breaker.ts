import { systemClock, type Clock } from "../core/clock.js";

/**
 * Circuit breakers per upstream account (or per provider when it has no accounts).
 *
 * closed ──(failure rate ≥ threshold over the sliding window, with ≥ minRequests)──▶ open
 * open ──(cool-down elapsed; the next acquire takes the single probe lease)──▶ half_open
 * half_open ──probe succeeds──▶ closed (window cleared) · ──probe fails──▶ open (new cool-down)
 *
 * One error never opens a circuit: the rate only counts once the window holds minRequests
 * outcomes. Outcomes of requests admitted before the circuit opened are ignored while it is not
 * closed, so a burst of in-flight failures cannot keep re-opening it.
 */
export type CircuitState = "closed" | "open" | "half_open";
export type Admission = "allow" | "probe" | "deny";

export interface BreakerOptions {
  windowMs: number;
  /** Resolution of the sliding window. */
  buckets: number;
  minRequests: number;
  /** 0 < rate ≤ 1. */
  failureRate: number;
  cooldownMs: number;
  /** A probe that never reports back releases its lease after this long. */
  probeTimeoutMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  windowMs: 60_000,
  buckets: 10,
  minRequests: 10,
  failureRate: 0.5,
  cooldownMs: 30_000,
  probeTimeoutMs: 60_000,
};

export interface BreakerSnapshot {
  key: string;
  state: CircuitState;
  /** Outcomes in the current window (closed state only). */
  requests: number;
  failures: number;
  failureRate: number;
  openedAt: number | null;
  /** When an open circuit lets the next probe through. */
  retryAt: number | null;
  /** Where this view comes from: the shared Redis state or this process's own. */
  source: "local" | "redis";
}

export interface CircuitBreakers {
  /** Synchronous view for the router: is this key worth trying now? Takes no lease. */
  peek(key: string): { state: CircuitState; retryAt: number | null; available: boolean };
  /** Right before an attempt. `probe` means this attempt is the half-open probe; report it with probe=true. */
  acquire(key: string): Admission | Promise<Admission>;
  /** Outcome of an attempt that acquire() admitted. Never throws; resolves when the state is stored. */
  record(key: string, ok: boolean, admission: Admission): Promise<void>;
  snapshot(key: string): BreakerSnapshot;
  /** Every key this process has seen. */
  list(): BreakerSnapshot[];
  /** Admin: force a key back to closed with an empty window. */
  reset(key: string): Promise<void>;
  close(): void;
}

interface Entry {
  state: CircuitState;
  /** Ring of buckets: epoch (bucket number), totals, failures. */
  epochs: Float64Array;
  totals: Uint32Array;
  fails: Uint32Array;
  openedAt: number | null;
  retryAt: number | null;
  probeUntil: number;
}

export function validateBreakerOptions(o: BreakerOptions): BreakerOptions {
  if (!(o.failureRate > 0 && o.failureRate <= 1)) throw new RangeError("breaker failureRate must be in (0, 1]");
  if (o.buckets < 1 || o.windowMs < o.buckets) throw new RangeError("breaker window must hold at least one ms per bucket");
  if (o.minRequests < 1) throw new RangeError("breaker minRequests must be ≥ 1");
  return o;
}

/** In-process breakers: exact for one process, and the fallback of the Redis breakers. */
export class LocalCircuitBreakers implements CircuitBreakers {
  private readonly entries = new Map<string, Entry>();
  private readonly bucketMs: number;
  constructor(
    readonly opts: BreakerOptions = DEFAULT_BREAKER_OPTIONS,
    private readonly clock: Clock = systemClock,
  ) {
    validateBreakerOptions(opts);
    this.bucketMs = opts.windowMs / opts.buckets;
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) {
      const n = this.opts.buckets;
      e = {
        state: "closed",
        epochs: new Float64Array(n).fill(-1),
        totals: new Uint32Array(n),
        fails: new Uint32Array(n),
        openedAt: null,
        retryAt: null,
        probeUntil: 0,
      };
      this.entries.set(key, e);
    }
    return e;
  }

  peek(key: string) {
    const e = this.entries.get(key);
    if (!e || e.state === "closed") return { state: "closed" as const, retryAt: null, available: true };
    const now = this.clock.now();
    if (e.state === "open") return { state: e.state, retryAt: e.retryAt, available: now >= (e.retryAt ?? 0) };
    return { state: e.state, retryAt: e.probeUntil, available: now >= e.probeUntil };
  }

  acquire(key: string): Admission {
    const e = this.entries.get(key);
    if (!e || e.state === "closed") return "allow";
    const now = this.clock.now();
    if (e.state === "open" && now < (e.retryAt ?? 0)) return "deny";
    if (e.state === "half_open" && now < e.probeUntil) return "deny";
    e.state = "half_open";
    e.probeUntil = now + this.opts.probeTimeoutMs;
    return "probe";
  }

  /** Same transitions as acquire/record but with an explicit time, for the Redis fallback path. */
  record(key: string, ok: boolean, admission: Admission): Promise<void> {
    this.recordSync(key, ok, admission);
    return Promise.resolve();
  }

  recordSync(key: string, ok: boolean, admission: Admission): void {
    if (admission === "deny") return;
    const e = this.entry(key);
    const now = this.clock.now();
    if (admission === "probe") {
      if (e.state !== "half_open") return;
      if (ok) this.closeEntry(e);
      else this.openEntry(e, now);
      return;
    }
    if (e.state !== "closed") return;
    const epoch = Math.floor(now / this.bucketMs);
    const slot = epoch % this.opts.buckets;
    if (e.epochs[slot] !== epoch) {
      e.epochs[slot] = epoch;
      e.totals[slot] = 0;
      e.fails[slot] = 0;
    }
    e.totals[slot]!++;
    if (!ok) e.fails[slot]!++;
    if (ok) return;
    const { requests, failures } = this.windowCounts(e, epoch);
    if (requests >= this.opts.minRequests && failures >= this.opts.failureRate * requests) this.openEntry(e, now);
  }

  private windowCounts(e: Entry, epoch: number) {
    let requests = 0;
    let failures = 0;
    const oldest = epoch - this.opts.buckets;
    for (let i = 0; i < this.opts.buckets; i++) {
      if (e.epochs[i]! > oldest) {
        requests += e.totals[i]!;
        failures += e.fails[i]!;
      }
    }
    return { requests, failures };
  }

  private openEntry(e: Entry, now: number) {
    e.state = "open";
    e.openedAt = now;
    e.retryAt = now + this.opts.cooldownMs;
    e.probeUntil = 0;
  }

  private closeEntry(e: Entry) {
    e.state = "closed";
    e.openedAt = null;
    e.retryAt = null;
    e.probeUntil = 0;
    e.epochs.fill(-1);
    e.totals.fill(0);
    e.fails.fill(0);
  }

  snapshot(key: string): BreakerSnapshot {
    const e = this.entries.get(key);
    if (!e) return { key, state: "closed", requests: 0, failures: 0, failureRate: 0, openedAt: null, retryAt: null, source: "local" };
    const { requests, failures } = this.windowCounts(e, Math.floor(this.clock.now() / this.bucketMs));
    return {
      key,
      state: e.state,
      requests,
      failures,
      failureRate: requests ? failures / requests : 0,
      openedAt: e.openedAt,
      retryAt: e.retryAt,
      source: "local",
    };
  }

  list(): BreakerSnapshot[] {
    return [...this.entries.keys()].sort().map((k) => this.snapshot(k));
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Adopt a state learned elsewhere (the Redis view), so a Redis outage starts from it. */
  adopt(key: string, state: CircuitState, openedAt: number | null, retryAt: number | null): void {
    const e = this.entry(key);
    if (e.state === state) return;
    if (state === "closed") this.closeEntry(e);
    else {
      e.state = state;
      e.openedAt = openedAt;
      e.retryAt = retryAt;
    }
  }

  reset(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (e) this.closeEntry(e);
    return Promise.resolve();
  }

  close(): void {}
}

/** Breaker key of an upstream account, or of a provider that has none. */
export function breakerKey(providerId: string, upstreamAccountId: string | null): string {
  return upstreamAccountId ? `ua:${upstreamAccountId}` : `prv:${providerId}`;
}
