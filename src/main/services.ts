import type { Redis } from "ioredis";
import { Catalog } from "../catalog/index.js";
import type { Env } from "../config/env.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import { systemClock, type Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Database } from "../db/client.js";
import type { AppDeps } from "../http/deps.js";
import { HealthRegistry } from "../http/health.js";
import { createMetrics } from "../http/metrics.js";
import { KeyVerifier } from "../keys/index.js";
import { RequestLogWriter } from "../logs/request-log-writer.js";
import { toProviderTarget, type ProviderTarget } from "../providers/index.js";
import { SimplePlanner } from "../proxy/attempts.js";
import { noopBilling, noopRateLimit } from "../proxy/noop-hooks.js";
import { ProxyService } from "../proxy/service.js";
import { UpstreamClient } from "../proxy/upstream.js";

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

/**
 * Builds every service once. Domain modules plug in here (billing, rate limits, routing, accounts,
 * payments): each replaces a no-op or registers its health check and closer.
 */
export function buildServices(inp: ServiceInputs): AppDeps & Closers {
  const { env, config, database, logger } = inp;
  const clock = inp.clock ?? systemClock;
  const db = database.db;
  const providers = new Map<string, ProviderTarget>();
  for (const p of config.providers) providers.set(p.id, toProviderTarget(p, env, inp.mockBaseUrl));
  const catalog = new Catalog(
    config.models,
    config.providers.filter((p) => p.enabled).map((p) => p.id),
  );
  const keys = new KeyVerifier({ db, clock, ttlMs: env.KEY_CACHE_TTL_MS });
  const logs = new RequestLogWriter({ db, logger });
  const upstream = new UpstreamClient();
  const planner = new SimplePlanner(() => providers);
  const health = new HealthRegistry();
  const metrics = env.METRICS_ENABLED ? createMetrics() : null;

  // --- wiring: billing / rate limits (replace the no-ops) ---
  const billing = noopBilling;
  const rateLimit = noopRateLimit;
  // --- end wiring ---

  const proxy = new ProxyService({ catalog, planner, upstream, billing, rateLimit, logs, logger, clock });

  health.register("database", async () => {
    const t0 = clock.now();
    await database.ping();
    return { status: "ok", kind: database.kind, latency_ms: clock.now() - t0 };
  });
  health.register("providers", () => ({
    status: [...providers.values()].some((p) => p.enabled) ? "ok" : "down",
    items: [...providers.values()].map((p) => ({ id: p.id, type: p.type, enabled: p.enabled, host: safeHost(p.baseUrl) })),
  }));

  const closers: Closers["closers"] = [
    { name: "request-logs", close: () => logs.close() },
    { name: "upstream", close: () => upstream.close() },
  ];

  return {
    env,
    config,
    database,
    db,
    redis: inp.redis,
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
    inflight: { count: 0 },
    closers,
  };
}

/** Host (and port) only: a base URL may carry credentials or paths that are nobody's business. */
function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}
