import { join } from "node:path";
import type { Redis } from "ioredis";
import { accountAdminWrites } from "../accounts/admin.js";
import { keyWrites } from "../accounts/api-keys.js";
import { createAuthRuntime } from "../accounts/runtime.js";
import { Catalog } from "../catalog/index.js";
import type { Env } from "../config/env.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import { systemClock, type Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { secrets } from "../core/secret-scrubber.js";
import type { Database } from "../db/client.js";
import type { AppDeps } from "../http/deps.js";
import { HealthRegistry } from "../http/health.js";
import { createMetrics } from "../http/metrics.js";
import { createTelemetry } from "../telemetry/index.js";
import { KeyVerifier, keyInvalidationBus } from "../keys/index.js";
import { RequestLogWriter } from "../logs/request-log-writer.js";
import { RequestLogJournal } from "../logs/request-log-journal.js";
import { StreamProgress } from "../billing/stream-progress.js";
import { toProviderTarget, type ProviderTarget } from "../providers/index.js";
import { billingAdminWrites } from "../billing/admin.js";
import { syncPrices } from "../billing/catalog-sync.js";
import { createBilling } from "../billing/service.js";
import { startCatalogSync } from "../jobs/catalog-sync.js";
import { startHoldSweeper } from "../jobs/sweep-holds.js";
import type { LowBalanceMail } from "../jobs/low-balance-notifier.js";
import { buildOperator } from "./operator.js";
import { ProxyService } from "../proxy/service.js";
import { UpstreamClient } from "../proxy/upstream.js";
import { createPaymentsRuntime } from "../payments/runtime.js";
import { createRateLimiter } from "../ratelimit/index.js";
import { adoptRedis, createRedis } from "../redis/index.js";
import { PassthroughService } from "../proxy/passthrough.js";
import { warmTokenCounting } from "../proxy/prompt-count.js";
import { RoutingPlanner, RoutingService } from "../routing/index.js";
import { startUpstreamKeySync } from "../jobs/upstream-key-sync.js";
import { CustomerKeys } from "../upstream-keys/customer-keys.js";
import { OpenRouterKeysApi } from "../upstream-keys/openrouter-keys-api.js";
import { addressPolicyFromEnv, authSettings, billingSettings, catalogSyncSettings, customerKeySettings, httpSettings, paymentsSettings, providerSettings, rateLimitSettings, routingSettings, telemetrySettings } from "./settings.js";

export interface ServiceInputs {
  env: Env;
  config: GatewayConfig;
  database: Database;
  redis: Redis | null;
  logger: Logger;
  adminToken: string;
  /** Base URL of the in-process mock upstream (demo mode / `type: mock` without base_url). */
  mockBaseUrl: string | null;
  clock?: Clock;
}

/** Things that must be flushed or closed on shutdown, in order. */
export interface Closers {
  closers: Array<{ name: string; close: () => Promise<void> | void }>;
}

/** Every service of one gateway, concrete and required; the HTTP edge sees them as AppDeps. */
export type Services = AppDeps & Closers & { env: Env; lowBalanceMail: LowBalanceMail | null; customerKeys: CustomerKeys | null };

/**
 * The composition root: builds every service once, hands each module its settings slice
 * (main/settings.ts), registers health checks and closers. Nothing else constructs a service.
 */
export function buildServices(inp: ServiceInputs): Services {
  const { env, config, database, logger } = inp;
  const clock = inp.clock ?? systemClock;
  const db = database.db;
  registerSettingSecrets(env, inp.adminToken);
  const providers = new Map<string, ProviderTarget>();
  const providerDefaults = providerSettings(env);
  for (const p of config.providers) providers.set(p.id, toProviderTarget(p, providerDefaults, inp.mockBaseUrl));
  const catalog = new Catalog(
    config.models,
    config.providers.filter((p) => p.enabled).map((p) => p.id),
  );
  // The verifier asks billing for a tariff's rate limits on cache misses (billing is built below).
  const keys = new KeyVerifier({ db, clock, ttlMs: env.KEY_CACHE_TTL_MS ?? (env.REDIS_URL ? 300_000 : 10_000), maxEntries: env.KEY_CACHE_MAX_KEYS, tariffRateLimits: (id) => billing.tariffRateLimits(id) });
  // durability: final log rows go to a local journal first; rows a crashed process left are replayed.
  const journalDir = env.REQUEST_LOG_JOURNAL ? env.REQUEST_LOG_JOURNAL_DIR || join(env.DATA_DIR, "request-log-journal") : null;
  const leftover = journalDir ? RequestLogJournal.recover(journalDir, logger) : null;
  const journal = journalDir ? new RequestLogJournal({ dir: journalDir, logger, fsyncMs: env.REQUEST_LOG_JOURNAL_FSYNC_MS }) : undefined;
  const metrics = env.METRICS_ENABLED ? createMetrics({ currency: env.BILLING_CURRENCY }) : null;
  const telemetry = createTelemetry(telemetrySettings(env), logger);
  const traced = telemetry?.requestFinished ?? null;
  // Per-request metrics, traces and generations come from the one finished log row (src/metrics, src/telemetry).
  const logs = new RequestLogWriter({
    db,
    logger,
    journal,
    maxRowAttempts: env.REQUEST_LOG_MAX_ROW_ATTEMPTS,
    observer:
      metrics || traced
        ? {
            finished: (row) => {
              metrics?.requestFinished(row);
              traced?.(row);
            },
            flushed: (sec, rows, ok) => metrics?.logFlushed(sec, rows, ok),
          }
        : undefined,
  });
  if (leftover && leftover.rows.length) {
    logs.replay(leftover.rows);
    logger.warn({ rows: leftover.rows.length }, "request log: replaying rows a previous process left in its journal");
  }
  if (leftover) RequestLogJournal.discard(leftover.files);
  const upstream = new UpstreamClient({ addressPolicy: addressPolicyFromEnv(env) });
  const health = new HealthRegistry();

  // The one Redis connection of the process (rate limits, breakers, cache) with its health flag:
  // `redisHandle.status()` says whether to use it or the local fallback; `reportFailure(err)` on a
  // command that got no answer. Connects in the background; never blocks start-up.
  const redisHandle = inp.redis
    ? adoptRedis(inp.redis, logger)
    : env.REDIS_URL
      ? createRedis(env.REDIS_URL, logger, { commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS })
      : null;
  const redis = redisHandle?.client ?? null;

  // Holds, settlement and quotas in PostgreSQL/PGlite (src/billing); the sweeper repairs holds a crash left open.
  // Operating the business: e-mail, alerts, the margin guard's counter, retention (main/operator.ts).
  const operator = buildOperator({ env, db, clock, logger, registry: metrics?.registry ?? null, isPglite: database.kind === "pglite" });
  const billing = createBilling({ db, settings: billingSettings(env, { demo: config.demo }), clock, logger, onMargin: operator.onMargin });
  const sweeper = env.BILLING_SWEEP_INTERVAL_MS > 0 ? startHoldSweeper(db, env.BILLING_SWEEP_INTERVAL_MS, logger) : null;
  const priceSync = catalogSyncSettings(env);
  const catalogSync = startCatalogSync(db, priceSync, logger, () => billing.config.invalidate());
  const rateLimit = createRateLimiter({ settings: rateLimitSettings(env), redis: redisHandle, logger, clock, keyPrefix: env.REDIS_KEY_PREFIX });
  // Streams record what they may have delivered on their hold (and keep it alive), or, leased, in the lease journal.
  const progress = new StreamProgress({ db, logger, leased: billing.leasedStreams, aheadTokens: env.STREAM_PROGRESS_AHEAD_TOKENS, heartbeatMs: env.HOLD_HEARTBEAT_MS, extendMs: env.BILLING_HOLD_TTL_MS });

  // Routes × upstream accounts, breakers, retries, response cache (src/routing).
  const routing = new RoutingService({ settings: routingSettings(env), config, db, redis: redisHandle, redisKeyPrefix: env.REDIS_KEY_PREFIX, logger, clock });
  // Admin-made providers join the live targets on every reload (config providers keep priority).
  const adminProviderIds = new Set<string>();
  routing.onReload((snap) => {
    const seen = new Set<string>();
    for (const p of snap.providers) {
      if (config.providers.some((c) => c.id === p.id)) continue;
      seen.add(p.id);
      try {
        providers.set(p.id, toProviderTarget(p, providerDefaults, inp.mockBaseUrl));
      } catch (e) {
        logger.warn({ provider: p.id, err: (e as Error).message }, "admin provider not usable");
      }
    }
    for (const id of adminProviderIds) if (!seen.has(id)) providers.delete(id);
    adminProviderIds.clear();
    for (const id of seen) adminProviderIds.add(id);
  });
  const planner = new RoutingPlanner(routing.router, () => providers, catalog);
  const resilience = { policy: routing.policy, budget: routing.budget, breakers: routing.breakers, rng: routing.rng };
  const cache = { store: routing.cache, hitPriceBp: routing.cacheHitPriceBp };

  // Per-account OpenRouter keys (OPENROUTER_PER_ACCOUNT_KEYS), sealed with the routing secret box.
  const keyWiring = customerKeySettings(env);
  const customerKeys =
    keyWiring && routing.box
      ? new CustomerKeys({
          db,
          api: new OpenRouterKeysApi({ baseUrl: keyWiring.baseUrl, provisioningKey: keyWiring.provisioningKey }),
          box: routing.box,
          usdRate: async () => (await billing.config.get()).rateMicros,
          settings: keyWiring.keys,
          clock,
          logger,
        })
      : null;
  const keySync = customerKeys && keyWiring && keyWiring.syncIntervalMs > 0 ? startUpstreamKeySync(customerKeys, keyWiring.syncIntervalMs, logger) : null;
  const accountKeys = customerKeys ?? undefined;

  const inflight = { count: 0 };
  // The tokenizer's tables load now (here and in the counting thread), not in a request.
  warmTokenCounting();
  const proxy = new ProxyService({ catalog, planner, upstream, billing, rateLimit, logs, logger, clock, inflight, resilience, cache, progress, maxChoices: env.BILLING_MAX_CHOICES, accountKeys });
  const passthrough = new PassthroughService({ catalog, router: routing.router, providers: () => providers, upstream, billing, rateLimit, logs, resilience, logger, clock, inflight, progress, accountKeys });
  const auth = createAuthRuntime({ db, settings: authSettings(env), clock, logger, redis: redisHandle, redisKeyPrefix: env.REDIS_KEY_PREFIX });
  const payments = createPaymentsRuntime(paymentsSettings(env));
  if (customerKeys) payments.notices.onCredited = (accountId) => customerKeys.noteBalanceChange(accountId);

  if (redisHandle) {
    // Degraded, not down: traffic limits fall back to memory and money never depends on Redis.
    health.register("redis", async () => {
      if (redisHandle.status() !== "up") return { status: "degraded", url: redisHandle.displayUrl, state: "down" };
      const t0 = clock.now();
      await redisHandle.client.ping();
      return { status: "ok", url: redisHandle.displayUrl, state: "up", latency_ms: clock.now() - t0 };
    });
  }
  health.register("database", async () => {
    const t0 = clock.now();
    await database.ping();
    return { status: "ok", kind: database.kind, latency_ms: clock.now() - t0 };
  });
  health.register("rate_limits", () => {
    const h = rateLimit.health();
    // Decisions taken in memory although Redis is configured: the fail-open count (Envoy's failure_mode_allowed).
    return { status: h.redis === "down" ? "degraded" : "ok", ...h, memory_fallback_decisions: rateLimit.stats().memoryFallbackDecisions };
  });
  health.register("routing", () => routing.health());
  health.register("providers", () => ({
    status: [...providers.values()].some((p) => p.enabled) ? "ok" : "down",
    items: [...providers.values()].map((p) => ({ id: p.id, type: p.type, enabled: p.enabled, host: safeHost(p.baseUrl) })),
  }));

  metrics?.attachGauges({
    db,
    currency: env.BILLING_CURRENCY,
    requestLogQueue: () => logs.queued,
    billingQueues: () => billing.queueDepth(),
    circuits: () => routing.circuits(),
    components: () => health.run(),
  });

  operator.start(() => routing.breakers.list().filter((b) => b.state === "open"));

  // Key changes reach every process's key cache at once (Redis pub/sub), not after the TTL.
  const keyBus = keyInvalidationBus({ redis, channel: `${env.REDIS_KEY_PREFIX}keys:invalidate`, apply: (filter) => keys.invalidate(filter), logger });
  const closers: Closers["closers"] = [
    { name: "key-invalidation", close: () => keyBus.close() },
    { name: "operator", close: () => operator.close() },
    { name: "upstream-keys", close: () => {
      keySync?.stop();
      customerKeys?.close();
    } },
    // Billing first: queued settlements commit before the request log rows that quote them are flushed.
    { name: "stream-progress", close: () => progress.close() },
    { name: "billing", close: () => billing.close() },
    { name: "billing-jobs", close: async () => void (await Promise.all([sweeper?.stop(), catalogSync.stop()])) },
    { name: "request-logs", close: async () => {
      await logs.close();
      journal?.close();
    } },
    { name: "telemetry", close: () => telemetry?.flush() },
    { name: "upstream", close: () => upstream.close() },
    { name: "rate-limits", close: () => rateLimit.close() },
    { name: "routing", close: () => routing.stop() },
  ];
  // Redis last: other closers may still write to it.
  const closeRedis = { name: "redis", close: () => redisHandle?.close() };

  return {
    env,
    settings: httpSettings(env),
    config,
    database,
    db,
    redis,
    logger,
    clock,
    adminToken: inp.adminToken,
    keys,
    catalog,
    providers,
    proxy,
    billing,
    rateLimit,
    logs,
    health,
    metrics,
    telemetry,
    inflight,
    routing,
    passthrough,
    auth,
    payments,
    keyWrites: keyWrites(db, (filter) => keyBus.publish(filter)),
    accountAdmin: accountAdminWrites(db, (filter) => keyBus.publish(filter), customerKeys ? (id) => void customerKeys.accountStatusChanged(id) : undefined),
    billingAdmin: billingAdminWrites(
      db,
      () => billing.config.invalidate(),
      (filter) => keyBus.publish(filter),
    ),
    operator: operator.services,
    lowBalanceMail: operator.lowBalanceMail,
    customerKeys,
    syncPrices: (run) => syncPrices(db, priceSync, run, () => billing.config.invalidate()),
    closers: [...closers, closeRedis],
  };
}

/** Secrets from the settings join the scrub list (provider keys register as their targets are built). */
function registerSettingSecrets(env: Env, adminToken: string): void {
  for (const v of [env.OPENROUTER_API_KEY, env.UPSTREAM_API_KEY, env.TELEGRAM_BOT_TOKEN, env.TELEGRAM_WEBHOOK_SECRET, env.TELEGRAM_PROVIDER_TOKEN, env.YOOKASSA_SECRET_KEY, env.JWT_SECRET, env.ENCRYPTION_KEY, env.OPENROUTER_PROVISIONING_KEY, adminToken]) secrets.add(v);
  for (const url of [env.DATABASE_URL, env.REDIS_URL]) {
    try {
      if (url) secrets.add(decodeURIComponent(new URL(url).password));
    } catch {
      /* validated by env.ts; nothing to add */
    }
  }
}

/** Host (and port) only: a base URL may carry credentials or paths that are nobody's business. */
function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}
