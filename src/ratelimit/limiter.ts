import { systemClock, type Clock } from "../core/clock.js";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { AdmitInput, Admission, AuthContext, RateLimitHooks } from "../contracts/request.js";
import { isConnectivityError, type RedisHandle } from "../redis/client.js";
import { DEFAULT_REDIS_KEY_PREFIX } from "../redis/keys.js";
import { LocalLeases, mayLease, type LeaseAdmission } from "./leases.js";
import { buildChecks, effectiveLimits, formatResetDuration, type RateLimitSettings } from "./limits.js";
import { MemoryLimitStore } from "./memory-store.js";
import { RedisLimitStore } from "./redis-store.js";
import type { AdmitResult, Check, LimitStore, SettleEntry } from "./types.js";

export type RateLimitStorage = "redis" | "memory";

export interface RateLimitHealth {
  storage: RateLimitStorage;
  redis: "up" | "down" | "not_configured";
}

export interface UsageFigure {
  limit: number;
  current: number;
  remaining: number;
}

/** What GET /rate-limit shows for the calling key. Null figures = that limit is off. */
export interface RateLimitSnapshot {
  storage: RateLimitStorage;
  windowSeconds: number;
  key: { requests: UsageFigure | null; tokens: UsageFigure | null; concurrency: UsageFigure | null };
  account: {
    windowSeconds: number;
    requests: UsageFigure | null;
    tokens: UsageFigure | null;
    concurrency: UsageFigure | null;
  };
}

export interface RateLimiterStats {
  admitted: number;
  rejected: number;
  /** Decisions taken in memory although Redis is configured (the fail-open counter of Kong/Envoy). */
  memoryFallbackDecisions: number;
  redisErrors: number;
  /** done() fix-ups dropped because too many waited for an unreachable Redis (their leases expire instead). */
  settleDropped: number;
}

export interface RateLimiter extends RateLimitHooks {
  peek(auth: AuthContext): Promise<RateLimitSnapshot>;
  storage(): RateLimitStorage;
  health(): RateLimitHealth;
  stats(): RateLimiterStats;
  /** Stops the lease-renewal timer. Does not close the Redis handle (it is shared). */
  close(): void;
}

export interface RateLimiterOptions {
  settings: RateLimitSettings;
  /** Null: no REDIS_URL, limits live in this process only. */
  redis: RedisHandle | null;
  logger: Logger;
  clock?: Clock;
  /** Redis key prefix (REDIS_KEY_PREFIX); tests pass a unique one per run. */
  keyPrefix?: string;
}

const MAX_PENDING_SETTLE = 20_000;

const KIND_WORD = { requests: "requests", tokens: "tokens", concurrency: "concurrent requests" } as const;

interface OpenLease {
  store: LimitStore;
  leases: Array<{ key: string; id: string }>;
}

/**
 * The request-path limiter: one atomic Redis script call per admission (or the in-memory store when
 * Redis is absent or down). Traffic limits fail open to a per-process limit, never to a 5xx.
 */
export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const { settings, redis } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.logger.child({ component: "ratelimit" });
  const memory = new MemoryLimitStore();
  const redisStore = redis ? new RedisLimitStore(redis.client, opts.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX) : null;
  const leaseMs = settings.leaseMs;
  const share = Math.max(1, settings.processes);
  const open = new Map<string, OpenLease>();
  const stats: RateLimiterStats = { admitted: 0, rejected: 0, memoryFallbackDecisions: 0, redisErrors: 0, settleDropped: 0 };

  const storage = (): RateLimitStorage => (redis && redis.status() === "up" ? "redis" : "memory");

  let unsubscribe: (() => void) | null = null;
  let unsubscribeFlush: (() => void) | null = null;
  if (redis) {
    if (redis.status() !== "up") log.warn("rate limits start in memory (per process) until redis is reachable");
    unsubscribe = redis.onChange((s) => {
      if (s === "up") log.warn("rate limits are back on redis");
      else log.warn({ share: settings.processes }, "rate limits fell back to memory (per process) while redis is unreachable");
    });
  }

  /** In fallback each process takes its share of a shared limit; alone (no Redis) it takes all of it. */
  const forMemory = (checks: Check[]): Check[] =>
    !redis || share === 1 ? checks : checks.map((c) => ({ ...c, limit: Math.max(1, Math.ceil(c.limit / share)) }));

  const onRedisError = (err: unknown, what: string) => {
    stats.redisErrors++;
    redis!.reportFailure(err);
    if (!isConnectivityError(err)) log.error({ err, what }, "rate limit script failed; using memory for this call");
  };

  // done() calls of one event-loop turn go to Redis as one script call: off the request path, and
  // under load one round-trip settles many requests. While Redis is unreachable they wait here
  // (bounded) and go out when it answers again, so a slot taken before an outage does not stay
  // taken until its lease runs out. Replays are harmless: a removed lease stays removed and a token
  // entry is rewritten only while it still carries the estimate.
  let pendingSettle: SettleEntry[] = [];
  let flushScheduled = false;
  const enqueueSettle = (entries: readonly SettleEntry[], retry = false) => {
    for (const e of entries) {
      if (pendingSettle.length >= MAX_PENDING_SETTLE) {
        stats.settleDropped++;
        continue;
      }
      pendingSettle.push(e);
    }
    // A failed batch waits for the "up" event instead of spinning against a dead connection.
    if (!retry && !flushScheduled && storage() === "redis") {
      flushScheduled = true;
      setImmediate(flushSettle);
    }
  };
  const flushSettle = () => {
    flushScheduled = false;
    if (!redisStore || pendingSettle.length === 0 || storage() !== "redis") return;
    const all = pendingSettle;
    pendingSettle = [];
    for (let i = 0; i < all.length; i += 256) {
      const chunk = all.slice(i, i + 256);
      redisStore.settle(chunk).catch((err: unknown) => {
        onRedisError(err, "settle");
        if (isConnectivityError(err)) enqueueSettle(chunk, true);
      });
    }
  };
  if (redis) unsubscribeFlush = redis.onChange((s) => s === "up" && flushSettle());

  const local =
    redisStore && settings.localLeases !== false
      ? new LocalLeases(redisStore, clock, leaseMs, (err) => onRedisError(err, "lease"), () => storage() === "redis")
      : null;

  const timer = setInterval(() => {
    const now = clock.now();
    memory.sweep(now);
    if (open.size === 0) return;
    const byStore = new Map<LimitStore, Array<{ key: string; id: string }>>();
    for (const o of open.values()) {
      let list = byStore.get(o.store);
      if (!list) byStore.set(o.store, (list = []));
      for (const l of o.leases) list.push(l);
    }
    for (const [store, leases] of byStore) {
      if (store === redisStore && storage() !== "redis") continue;
      store.renew(leases, now + leaseMs, leaseMs).catch((err: unknown) => onRedisError(err, "renew"));
    }
  }, Math.max(1000, Math.floor(leaseMs / 3)));
  timer.unref();

  const releaseLater = (checks: readonly Check[], id: string) => {
    const entries: SettleEntry[] = [];
    for (const c of checks) if (c.kind === "concurrency") entries.push({ kind: "concurrency", key: c.key, id });
    if (entries.length > 0) enqueueSettle(entries);
  };

  // Marked even when a request goes to Redis: its script must count the processes' leases as taken.
  const markLeased = (checks: Check[]) => {
    if (local) for (const c of checks) if (mayLease(c)) c.leased = true;
  };

  async function run(checks: Check[], id: string, now: number): Promise<{ store: LimitStore | LeaseAdmission; checks: Check[]; res: AdmitResult }> {
    if (local && storage() === "redis") {
      markLeased(checks);
      if (local.covers(checks)) {
        try {
          const lease = await local.admit(checks);
          return { store: lease, checks, res: lease.res };
        } catch (err) {
          // Redis failed under the lease: this request is decided in memory (no second Redis call).
          onRedisError(err, "lease");
          if (redis) stats.memoryFallbackDecisions++;
          const mc = forMemory(checks);
          return { store: memory, checks: mc, res: memory.admitSync(mc, id, now, leaseMs) };
        }
      }
    }
    if (redisStore && storage() === "redis") {
      try {
        return { store: redisStore, checks, res: await redisStore.admit(checks, id, now, leaseMs) };
      } catch (err) {
        onRedisError(err, "admit");
        // A timed-out script still runs when a paused Redis resumes and may take concurrency slots
        // that nobody would release before their lease ran out. Its release is queued now and goes
        // out on the same connection once Redis answers again, so it runs after the script.
        releaseLater(checks, id);
      }
    }
    if (redis) stats.memoryFallbackDecisions++;
    const mc = forMemory(checks);
    return { store: memory, checks: mc, res: memory.admitSync(mc, id, now, leaseMs) };
  }

  function headersFor(checks: Check[], used: number[]): Record<string, string> {
    const h: Record<string, string> = {};
    let req = -1;
    let tok = -1;
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      if (c.kind === "requests") {
        if (req < 0 || c.limit - used[i]! < checks[req]!.limit - used[req]!) req = i;
      } else if (c.kind === "tokens") {
        if (tok < 0 || c.limit - used[i]! < checks[tok]!.limit - used[tok]!) tok = i;
      }
    }
    // Reset = until the window would be empty again: every entry, this request's included, leaves it
    // one window after it was taken (OpenAI: "time until the limit resets to its initial state").
    if (req >= 0) {
      const c = checks[req]!;
      h["x-ratelimit-limit-requests"] = String(c.limit);
      h["x-ratelimit-remaining-requests"] = String(Math.max(0, c.limit - used[req]!));
      h["x-ratelimit-reset-requests"] = formatResetDuration(used[req]! > 0 ? c.windowMs : 0);
    }
    if (tok >= 0) {
      const c = checks[tok]!;
      h["x-ratelimit-limit-tokens"] = String(c.limit);
      h["x-ratelimit-remaining-tokens"] = String(Math.max(0, c.limit - used[tok]!));
      h["x-ratelimit-reset-tokens"] = formatResetDuration(used[tok]! > 0 ? c.windowMs : 0);
    }
    return h;
  }

  const NOOP: Admission = Object.freeze({ headers: {}, done() {} });

  async function admit(input: AdmitInput): Promise<Admission> {
    const est = Number.isFinite(input.estimatedTokens) && input.estimatedTokens > 0 ? Math.ceil(input.estimatedTokens) : 0;
    const checks = buildChecks(settings, {
      auth: input.auth,
      model: input.model || null,
      providerId: input.providerId,
      estimatedTokens: est,
    });
    if (checks.length === 0) return NOOP;
    const id = input.requestId;
    const now = Math.floor(clock.now());
    const { store, checks: applied, res } = await run(checks, id, now);
    const headers = headersFor(applied, res.used);

    if (!res.ok) {
      stats.rejected++;
      const c = applied[res.failed]!;
      const retrySec = Math.max(1, Math.ceil(res.retryAfterMs / 1000));
      const windowSeconds = Math.round(c.windowMs / 1000);
      const what =
        c.kind === "concurrency"
          ? `${c.limit} concurrent requests`
          : `${c.limit} ${KIND_WORD[c.kind]} per ${windowSeconds}s`;
      throw new AppError("rate_limit_exceeded", `Rate limit reached (${c.source}: ${what}). Please try again in ${retrySec}s.`, {
        headers: { ...headers, "retry-after": String(retrySec) },
        details: {
          limit_source: c.source,
          limit: c.limit,
          ...(c.kind === "concurrency" ? {} : { window_seconds: windowSeconds }),
          current: res.used[res.failed],
          retry_after_ms: res.retryAfterMs,
        },
      });
    }
    stats.admitted++;

    if (!("kind" in store)) {
      let finished = false;
      return {
        headers,
        done(actualTokens: number) {
          if (finished) return;
          finished = true;
          store.done(Number.isFinite(actualTokens) && actualTokens >= 0 ? Math.ceil(actualTokens) : null);
        },
      };
    }
    const tokenKeys: string[] = [];
    const leases: Array<{ key: string; id: string }> = [];
    for (const c of applied) {
      if (c.kind === "tokens") tokenKeys.push(c.key);
      else if (c.kind === "concurrency") leases.push({ key: c.key, id });
    }
    if (leases.length > 0) open.set(id, { store, leases });
    if (tokenKeys.length === 0 && leases.length === 0) return { headers, done() {} };

    let finished = false;
    return {
      headers,
      done(actualTokens: number) {
        if (finished) return;
        finished = true;
        if (leases.length > 0) open.delete(id);
        const actual = Number.isFinite(actualTokens) && actualTokens >= 0 ? Math.ceil(actualTokens) : est;
        const entries: SettleEntry[] = [];
        if (actual !== est) for (const key of tokenKeys) entries.push({ kind: "tokens", key, id, estimated: est, actual });
        for (const l of leases) entries.push({ kind: "concurrency", key: l.key, id });
        if (entries.length === 0) return;
        if (store === memory) {
          void memory.settle(entries);
          return;
        }
        // Nothing here may delay or fail the response.
        enqueueSettle(entries);
      },
    };
  }

  async function peek(auth: AuthContext): Promise<RateLimitSnapshot> {
    const eff = effectiveLimits(settings, auth);
    const checks = buildChecks(settings, { auth, model: null, providerId: null, estimatedTokens: 0 }).filter(
      (c) => c.scope === "key" || c.scope === "account",
    );
    const now = Math.floor(clock.now());
    let used: number[] | null = null;
    let applied = checks;
    let where: RateLimitStorage = "memory";
    if (redisStore && storage() === "redis") {
      markLeased(checks);
      try {
        used = await redisStore.peek(checks, now);
        where = "redis";
      } catch (err) {
        onRedisError(err, "peek");
      }
    }
    if (!used) {
      applied = forMemory(checks);
      used = await memory.peek(applied, now);
    }
    const fig = (scope: Check["scope"], kind: Check["kind"]): UsageFigure | null => {
      const i = applied.findIndex((c) => c.scope === scope && c.kind === kind);
      if (i < 0) return null;
      const limit = applied[i]!.limit;
      const current = used[i]!;
      return { limit, current, remaining: Math.max(0, limit - current) };
    };
    return {
      storage: where,
      windowSeconds: eff.key.windowSeconds,
      key: { requests: fig("key", "requests"), tokens: fig("key", "tokens"), concurrency: fig("key", "concurrency") },
      account: {
        windowSeconds: eff.account.windowSeconds,
        requests: fig("account", "requests"),
        tokens: fig("account", "tokens"),
        concurrency: fig("account", "concurrency"),
      },
    };
  }

  return {
    admit,
    peek,
    storage,
    health: () => ({ storage: storage(), redis: redis ? redis.status() : "not_configured" }),
    stats: () => ({ ...stats }),
    close() {
      clearInterval(timer);
      local?.close();
      unsubscribe?.();
      unsubscribeFlush?.();
    },
  };
}
