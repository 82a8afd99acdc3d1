import type { Redis } from "ioredis";
import type { Catalog } from "../catalog/index.js";
import type { Env } from "../config/env.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Database, Db } from "../db/client.js";
import type { KeyVerifier } from "../keys/index.js";
import type { RequestLogWriter } from "../logs/request-log-writer.js";
import type { ProviderTarget } from "../providers/index.js";
import type { ProxyService } from "../proxy/service.js";
import type { BillingHooks, RateLimitHooks } from "../contracts/request.js";
import type { PassthroughService } from "../proxy/passthrough.js";
import type { RoutingService } from "../routing/service.js";
import type { HealthRegistry } from "./health.js";
import type { Metrics } from "./metrics.js";

/** Everything the HTTP layer needs, built once in src/main/services.ts. */
export interface AppDeps {
  env: Env;
  config: GatewayConfig;
  database: Database;
  db: Db;
  redis: Redis | null;
  logger: Logger;
  clock: Clock;
  adminToken: string;
  keys: KeyVerifier;
  catalog: Catalog;
  /** Live provider targets by id (the admin API may replace entries at runtime). */
  providers: Map<string, ProviderTarget>;
  proxy: ProxyService;
  billing: BillingHooks;
  rateLimit: RateLimitHooks;
  logs: RequestLogWriter;
  health: HealthRegistry;
  metrics: Metrics | null;
  /** In-flight request counter, so shutdown can drain. */
  inflight: { count: number };
  /** Routes, upstream accounts, breakers and the response cache (src/routing); started by startGateway. */
  routing?: RoutingService;
  /** Forwarding of images/audio/moderations/rerank/responses and /api/v1/openrouter/* (src/proxy). */
  passthrough?: PassthroughService;
}
