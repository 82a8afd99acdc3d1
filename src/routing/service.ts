import type { Redis } from "ioredis";
import type { Env } from "../config/env.js";
import type { GatewayConfig, ProviderConfig } from "../config/gateway-config.js";
import { systemClock, type Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { LocalCircuitBreakers, type BreakerOptions, type BreakerSnapshot, type CircuitBreakers } from "./circuit-breaker.js";
import { RedisCircuitBreakers } from "./redis-circuit-breaker.js";
import { MemoryResponseCache, RedisResponseCache, type ResponseCacheLimits, type ResponseCacheStore } from "./response-cache.js";
import { RetryBudget, type RetryPolicy } from "./retry.js";
import { defaultRng, type Rng } from "./rng.js";
import { Router } from "./router.js";
import { createSecretBox, type SecretBox } from "./secret-box.js";
import { EMPTY_SNAPSHOT, loadRoutingSnapshot, verifyEncryptionKey, type RoutingSnapshot } from "./store.js";

export interface RoutingServiceDeps {
  env: Env;
  config: GatewayConfig;
  db: Db;
  /** Shared ioredis client, or null for in-memory breakers and cache. */
  redis: Redis | null;
  /** The shared handle's health flag (src/redis), when there is one. */
  redisIsUp?: () => boolean;
  redisOnError?: (e: unknown) => void;
  /** Prefix of every Redis key the gateway writes. */
  redisPrefix?: string;
  logger: Logger;
  clock?: Clock;
  rng?: Rng;
}

export interface CircuitView {
  key: string;
  provider_id: string | null;
  upstream_account_id: string | null;
  state: BreakerSnapshot["state"];
  requests: number;
  failures: number;
  failure_rate: number;
  opened_at: string | null;
  retry_at: string | null;
  source: BreakerSnapshot["source"];
}

export interface RoutingHealth {
  [k: string]: unknown;
  status: "ok" | "degraded";
  circuits: CircuitView[];
  open: number;
  /** Upstream accounts whose key could not be opened (not used for requests). */
  broken_upstream_accounts: readonly string[];
  routing_loaded_at: string | null;
}

export function breakerOptionsFromEnv(env: Env): BreakerOptions {
  return {
    windowMs: env.BREAKER_WINDOW_MS,
    buckets: 10,
    minRequests: env.BREAKER_MIN_REQUESTS,
    failureRate: env.BREAKER_FAILURE_PCT / 100,
    cooldownMs: env.BREAKER_COOLDOWN_MS,
    probeTimeoutMs: Math.max(env.UPSTREAM_TOTAL_TIMEOUT_MS, env.BREAKER_COOLDOWN_MS),
  };
}

export function retryPolicyFromEnv(env: Env): RetryPolicy {
  return {
    maxAttempts: env.ROUTING_MAX_ATTEMPTS,
    baseDelayMs: env.ROUTING_RETRY_BASE_MS,
    maxDelayMs: env.ROUTING_RETRY_MAX_MS,
    deadlineMs: env.ROUTING_DEADLINE_MS,
  };
}

export function cacheLimitsFromEnv(env: Env): ResponseCacheLimits {
  return {
    ttlMs: env.RESPONSE_CACHE_TTL_MS,
    maxEntries: env.RESPONSE_CACHE_MAX_ENTRIES,
    maxBytes: env.RESPONSE_CACHE_MAX_BYTES,
    maxEntryBytes: env.RESPONSE_CACHE_MAX_ENTRY_BYTES,
  };
}

/** "0.25" → 2500 basis points. */
export function fractionToBp(s: string): number {
  const [w, f = ""] = s.split(".");
  return Number(w) * 10_000 + Number(f.padEnd(4, "0").slice(0, 4));
}

/**
 * Everything routing needs at run time, built once per process (main/services.ts): the secret
 * box, runtime routing tables (reloaded periodically so admin edits reach every process without
 * a restart), circuit breakers, retry budget/policy, the router and the response cache.
 */
export class RoutingService {
  readonly box: SecretBox | null;
  readonly breakers: CircuitBreakers;
  readonly budget: RetryBudget;
  readonly policy: RetryPolicy;
  readonly router: Router;
  readonly cache: ResponseCacheStore;
  readonly cacheHitPriceBp: number;
  readonly configProviders: readonly ProviderConfig[];
  readonly rng: Rng;
  readonly clock: Clock;
  private snap: RoutingSnapshot = EMPTY_SNAPSHOT;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(s: RoutingSnapshot) => void>();

  constructor(private readonly deps: RoutingServiceDeps) {
    const env = deps.env;
    this.clock = deps.clock ?? systemClock;
    this.rng = deps.rng ?? defaultRng;
    this.box = env.ENCRYPTION_KEY ? createSecretBox(env.ENCRYPTION_KEY) : null;
    const prefix = deps.redisPrefix ?? "gw:";
    const opts = breakerOptionsFromEnv(env);
    this.breakers = deps.redis
      ? new RedisCircuitBreakers({ redis: deps.redis, prefix, options: opts, clock: this.clock, isUp: deps.redisIsUp, onError: deps.redisOnError })
      : new LocalCircuitBreakers(opts, this.clock);
    this.budget = new RetryBudget({ ratio: env.ROUTING_RETRY_BUDGET_PCT / 100, minPerWindow: env.ROUTING_RETRY_BUDGET_MIN, windowMs: 10_000 }, this.clock);
    this.policy = retryPolicyFromEnv(env);
    this.configProviders = deps.config.providers;
    this.router = new Router({ snapshot: () => this.snap, configProviders: deps.config.providers, breakers: this.breakers, rng: this.rng });
    const limits = cacheLimitsFromEnv(env);
    this.cache = deps.redis
      ? new RedisResponseCache(deps.redis, prefix, limits, { isUp: deps.redisIsUp, onError: deps.redisOnError })
      : new MemoryResponseCache(limits, this.clock);
    this.cacheHitPriceBp = fractionToBp(env.RESPONSE_CACHE_HIT_PRICE);
  }

  snapshot(): RoutingSnapshot {
    return this.snap;
  }

  /** Start-up: verify ENCRYPTION_KEY (throws ConfigError on a mismatch), load the tables, start reloading. */
  async start(): Promise<void> {
    await verifyEncryptionKey(this.deps.db, this.box);
    await this.reload();
    const every = this.deps.env.ROUTING_RELOAD_MS;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.reload().catch((e: unknown) => this.deps.logger.warn({ err: (e as Error).message }, "routing reload failed; keeping the previous tables"));
      }, every);
      this.timer.unref();
    }
  }

  async reload(): Promise<void> {
    const next = await loadRoutingSnapshot(this.deps.db, this.box, this.clock.now());
    if (next.brokenAccounts.length && next.brokenAccounts.join() !== this.snap.brokenAccounts.join()) {
      this.deps.logger.error({ accounts: next.brokenAccounts }, "upstream accounts whose key cannot be decrypted are not used");
    }
    this.snap = next;
    for (const l of this.listeners) l(next);
  }

  /** Called after each reload (the proxy rebuilds its provider targets from admin providers). */
  onReload(listener: (s: RoutingSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Admin providers plus config providers, as the proxy needs them. */
  allProviders(): ProviderConfig[] {
    const ids = new Set(this.configProviders.map((p) => p.id));
    return [...this.configProviders, ...this.snap.providers.filter((p) => !ids.has(p.id))];
  }

  circuits(): CircuitView[] {
    return this.breakers.list().map((b) => {
      const [kind, id] = splitKey(b.key);
      const acct = kind === "ua" ? this.findAccount(id) : null;
      return {
        key: b.key,
        provider_id: kind === "prv" ? id : (acct?.providerId ?? null),
        upstream_account_id: kind === "ua" ? id : null,
        state: b.state,
        requests: b.requests,
        failures: b.failures,
        failure_rate: Math.round(b.failureRate * 1000) / 1000,
        opened_at: b.openedAt ? new Date(b.openedAt).toISOString() : null,
        retry_at: b.retryAt ? new Date(b.retryAt).toISOString() : null,
        source: b.source,
      };
    });
  }

  private findAccount(id: string) {
    for (const list of this.snap.accountsByProvider.values()) for (const a of list) if (a.id === id) return a;
    return null;
  }

  health(): RoutingHealth {
    const circuits = this.circuits();
    const open = circuits.filter((c) => c.state !== "closed").length;
    return {
      status: open > 0 || this.snap.brokenAccounts.length > 0 ? "degraded" : "ok",
      circuits,
      open,
      broken_upstream_accounts: this.snap.brokenAccounts,
      routing_loaded_at: this.snap.loadedAt ? new Date(this.snap.loadedAt).toISOString() : null,
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.breakers.close();
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf(":");
  return [key.slice(0, i), key.slice(i + 1)];
}
