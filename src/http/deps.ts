import type { Redis } from "ioredis";
import type { AccountEmail } from "../accounts/email-links.js";
import type { Alerts } from "../alerts/alerts.js";
import type { AuthRuntime } from "../accounts/runtime.js";
import type { SyncPricesRun, SyncReport } from "../billing/catalog-sync.js";
import type { BillingService } from "../billing/service.js";
import type { Catalog } from "../catalog/index.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Database, Db } from "../db/client.js";
import type { KeyVerifier } from "../keys/index.js";
import type { RequestLogWriter } from "../logs/request-log-writer.js";
import type { PaymentsRuntime } from "../payments/runtime.js";
import type { AddressPolicy, ProviderTarget } from "../providers/index.js";
import type { ProxyService } from "../proxy/service.js";
import type { RateLimiter } from "../ratelimit/index.js";
import type { PassthroughService } from "../proxy/passthrough.js";
import type { RoutingService } from "../routing/service.js";
import type { HealthRegistry } from "./health.js";
import type { Telemetry } from "../telemetry/index.js";
import type { Metrics } from "./metrics.js";

/** Operating the business (src/main/operator.ts): alerts and the account e-mail links. */
export interface OperatorServices {
  alerts: Alerts;
  accountEmail: AccountEmail;
}

/** What the HTTP edge reads from settings (mapped from the environment in main/settings.ts). */
export interface HttpSettings {
  /** The accounts' currency (BILLING_CURRENCY), quoted next to every amount. */
  currency: string;
  /** Day boundaries of usage reports. */
  billingTimezone: string;
  maxBodyBytes: number;
  /** Deepest JSON nesting a body may have (MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  /** Which upstream base URLs admins may configure. */
  addressPolicy: AddressPolicy;
  publicUrl: string | null;
  /** TRUSTED_PROXIES: peers whose X-Forwarded-For gives the client address (src/http/client-ip.ts). */
  trustedProxies: readonly string[];
  registrationEnabled: boolean;
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  /** A new tariff's markup when the admin names none (DEFAULT_MARKUP, parts per million). */
  defaultMarkupPpm: bigint;
  /** USD → account currency when no FX rate is stored (USD_RATE, micros). */
  usdRateMicros: bigint;
  telegram: { botToken: string | null; botUsername: string | null; loginMaxAgeSec: number; deepLinkTtlSec: number };
  did: { enabled: boolean; autoProvision: boolean; timestampWindowSec: number };
}

/** Everything the HTTP layer needs: the services main/services.ts builds once, all of them required. */
export interface AppDeps {
  settings: HttpSettings;
  config: GatewayConfig;
  database: Database;
  db: Db;
  /** The shared ioredis client (null without REDIS_URL); for health and the rate-limit view only. */
  redis: Redis | null;
  logger: Logger;
  clock: Clock;
  adminToken: string;
  keys: KeyVerifier;
  catalog: Catalog;
  /** Live provider targets by id (the admin API may replace entries at runtime). */
  providers: Map<string, ProviderTarget>;
  proxy: ProxyService;
  billing: BillingService;
  rateLimit: RateLimiter;
  logs: RequestLogWriter;
  health: HealthRegistry;
  metrics: Metrics | null;
  /** OTLP traces, Sentry, Langfuse (src/telemetry); null when all are off. */
  telemetry: Telemetry | null;
  /** In-flight request counter, so shutdown can drain. */
  inflight: { count: number };
  /** Routes, upstream accounts, breakers and the response cache (src/routing); started by startGateway. */
  routing: RoutingService;
  /** Forwarding of images/audio/moderations/rerank/responses and /api/v1/openrouter/* (src/proxy). */
  passthrough: PassthroughService;
  /** Session signing secret and login throttle (src/accounts). */
  auth: AuthRuntime;
  /** Payment settings, YooKassa client and the bot's hooks (src/payments). */
  payments: PaymentsRuntime;
  /** Alerts and account e-mail (verification, password reset). */
  operator: OperatorServices;
  /** Billing's price sync with its settings bound; refreshes the billing price cache itself. */
  syncPrices(run: SyncPricesRun): Promise<SyncReport>;
}
