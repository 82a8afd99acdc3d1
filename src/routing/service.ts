import type { GatewayConfig, ProviderConfig } from "../config/gateway-config.js";
import { systemClock, type Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import type { RedisHandle } from "../redis/client.js";
import { DEFAULT_REDIS_KEY_PREFIX } from "../redis/keys.js";
import { LocalCircuitBreakers, type BreakerOptions, type BreakerSnapshot, type CircuitBreakers } from "./circuit-breaker.js";
import { RedisCircuitBreakers } from "./redis-circuit-breaker.js";
import { MemoryResponseCache, RedisResponseCache, type ResponseCacheLimits, type ResponseCacheStore } from "./response-cache.js";
import { RetryBudget, type RetryPolicy } from "./retry.js";
import { defaultRng, type Rng } from "./rng.js";
import { Router } from "./router.js";
import { createSecretBox, type SecretBox } from "./secret-box.js";
import { EMPTY_SNAPSHOT, loadRoutingSnapshot, verifyEncryptionKey, type RoutingSnapshot } from "./store.js";

/** What routing reads from settings (mapped from the environment in main/settings.ts). */
export interface RoutingSettings {
  /** ENCRYPTION_KEY for upstream-account keys at rest; null: none can be stored. */
  encryptionKey: string | null;
  breaker: BreakerOptions;
  retry: RetryPolicy;
  /** Retries allowed as a share of requests (0.2 = 20 %), with a floor per 10 s window. */
  retryBudget: { ratio: number; minPerWindow: number };
  cache: ResponseCacheLimits;
  /** Price of a cache hit, in basis points of the full price. */
  cacheHitPriceBp: number;
  /** How often the runtime tables are re-read; 0 = never. */
  reloadMs: number;
}

export interface RoutingServiceDeps {
  settings: RoutingSettings;
  config: GatewayConfig;
  db: Db;
  /** The process's Redis handle (src/redis), or null for in-memory breakers and cache. */
  redis: RedisHandle | null;
  /** Prefix of every Redis key the gateway writes (redis/keys.ts). */
  redisKeyPrefix?: string;
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
    const cfg = deps.settings;
    this.clock = deps.clock ?? systemClock;
    this.rng = deps.rng ?? defaultRng;
    this.box = cfg.encryptionKey ? createSecretBox(cfg.encryptionKey) : null;
    const prefix = deps.redisKeyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
    const redis = deps.redis;
    const hooks = redis ? { isUp: () => redis.status() === "up", onError: (e: unknown) => redis.reportFailure(e) } : {};
    this.breakers = redis
      ? new RedisCircuitBreakers({ redis: redis.client, prefix, options: cfg.breaker, clock: this.clock, ...hooks })
      : new LocalCircuitBreakers(cfg.breaker, this.clock);
    this.budget = new RetryBudget({ ...cfg.retryBudget, windowMs: 10_000 }, this.clock);
    this.policy = cfg.retry;
    this.configProviders = deps.config.providers;
    this.router = new Router({ snapshot: () => this.snap, configProviders: deps.config.providers, breakers: this.breakers, rng: this.rng });
    this.cache = redis ? new RedisResponseCache(redis.client, prefix, cfg.cache, hooks) : new MemoryResponseCache(cfg.cache, this.clock);
    this.cacheHitPriceBp = cfg.cacheHitPriceBp;
  }

  snapshot(): RoutingSnapshot {
    return this.snap;
  }

  /** Start-up: verify ENCRYPTION_KEY (throws ConfigError on a mismatch), load the tables, start reloading. */
  async start(): Promise<void> {
    await verifyEncryptionKey(this.deps.db, this.box);
    await this.reload();
    const every = this.deps.settings.reloadMs;
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
