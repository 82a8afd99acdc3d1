import type { TelemetrySettings } from "../telemetry/index.js";
/**
 * Env → the typed settings slice of each module. Only main/ and config/ read `Env`; every module
 * declares the slice it needs (its `…Settings` type) and gets exactly that from here.
 */
import type { AuthSettings } from "../accounts/runtime.js";
import type { CatalogSyncSettings } from "../billing/catalog-sync.js";
import { parsePositiveMillionths } from "../billing/pricing.js";
import type { BillingSettings } from "../billing/service.js";
import { ConfigError, type Env } from "../config/env.js";
import { parseMoney } from "../core/money.js";
import { normalizeOrigin, parseCorsOrigins } from "../http/cors.js";
import type { HttpSettings } from "../http/deps.js";
import { creditsForKopecks, creditsForStars, percentToBasisPoints, type PaymentsConfig, type TopupPackage, type YooKassaSettings } from "../payments/config.js";
import type { AddressPolicy, ProviderSettings } from "../providers/index.js";
import { DEFAULT_YOOKASSA_IPS } from "../payments/ip-allowlist.js";
import type { RateLimitSettings } from "../ratelimit/index.js";
import { fractionToBp, type RoutingSettings } from "../routing/service.js";
import type { CustomerKeySettings } from "../upstream-keys/customer-keys.js";
import { join } from "node:path";

const trimSlash = (url: string) => url.replace(/\/+$/, "");

/** Demo mode's price of a model the built-in mock serves under a name its catalog does not list (per request). */
export const DEMO_UNPRICED_PRICE = "0.01";

/** `demo`: nothing configured, the built-in mock serves every model; then every model it serves has a price. */
export function billingSettings(env: Env, opts: { demo?: boolean } = {}): BillingSettings {
  return {
    currency: env.BILLING_CURRENCY,
    usdRateMicros: parsePositiveMillionths(env.USD_RATE, "USD_RATE"),
    defaultMarkupPpm: parsePositiveMillionths(env.DEFAULT_MARKUP, "DEFAULT_MARKUP"),
    cacheTtlMs: env.BILLING_CACHE_TTL_MS,
    timezone: env.BILLING_TIMEZONE,
    settleBatch: env.BILLING_SETTLE_BATCH,
    unpricedHoldMicros: env.BILLING_UNPRICED_HOLD ? parseMoney(env.BILLING_UNPRICED_HOLD) : opts.demo ? parseMoney(DEMO_UNPRICED_PRICE) : null,
    // A hold must outlive the longest request, or the sweeper would release a hold still in use.
    holdTtlMs: Math.max(env.BILLING_HOLD_TTL_MS, env.UPSTREAM_TOTAL_TIMEOUT_MS + 60_000),
    marginRule: env.BILLING_MARGIN_RULE,
    defaultMaxTokens: env.BILLING_DEFAULT_MAX_TOKENS,
    minMaxTokens: env.BILLING_MIN_MAX_TOKENS,
    lease:
      env.BILLING_LEASE === "on"
        ? {
            maxMicros: parseMoney(env.BILLING_LEASE_MAX),
            minMicros: parseMoney(env.BILLING_LEASE_MIN),
            journalDir: env.BILLING_LEASE_JOURNAL_DIR || join(env.DATA_DIR, "billing-journal"),
            applyMs: env.BILLING_LEASE_APPLY_MS,
            renewMs: env.BILLING_LEASE_RENEW_MS,
            journalFsyncMs: env.BILLING_LEASE_JOURNAL_FSYNC_MS,
          }
        : null,
  };
}

/** UPSTREAM_ALLOW_LOOPBACK / UPSTREAM_ALLOW_PRIVATE as the base-URL guard's policy. */
export function addressPolicyFromEnv(env: Pick<Env, "UPSTREAM_ALLOW_LOOPBACK" | "UPSTREAM_ALLOW_PRIVATE">): AddressPolicy {
  return { allowLoopback: env.UPSTREAM_ALLOW_LOOPBACK, allowPrivate: env.UPSTREAM_ALLOW_PRIVATE };
}

/** The defaults a provider target takes when its config leaves them out. */
export function providerSettings(env: Env): ProviderSettings {
  return {
    addressPolicy: addressPolicyFromEnv(env),
    timeouts: {
      connectMs: env.UPSTREAM_CONNECT_TIMEOUT_MS,
      firstByteMs: env.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      idleMs: env.UPSTREAM_IDLE_TIMEOUT_MS,
      totalMs: env.UPSTREAM_TOTAL_TIMEOUT_MS,
    },
  };
}

export function httpSettings(env: Env): HttpSettings {
  return {
    currency: env.BILLING_CURRENCY,
    billingTimezone: env.BILLING_TIMEZONE,
    maxBodyBytes: env.MAX_BODY_BYTES,
    maxJsonDepth: env.MAX_JSON_DEPTH,
    cors: { apiOrigins: parseCorsOrigins(env.CORS_ORIGINS), ownOrigin: normalizeOrigin(env.PUBLIC_URL) },
    addressPolicy: addressPolicyFromEnv(env),
    publicUrl: env.PUBLIC_URL ?? null,
    trustedProxies: env.TRUSTED_PROXIES,
    registrationEnabled: env.REGISTRATION_ENABLED,
    accessTokenTtlSec: env.ACCESS_TOKEN_TTL_SEC,
    refreshTokenTtlSec: env.REFRESH_TOKEN_TTL_SEC,
    defaultMarkupPpm: parsePositiveMillionths(env.DEFAULT_MARKUP, "DEFAULT_MARKUP"),
    usdRateMicros: parsePositiveMillionths(env.USD_RATE, "USD_RATE"),
    telegram: {
      botToken: env.TELEGRAM_BOT_TOKEN ?? null,
      botUsername: env.TELEGRAM_BOT_USERNAME ?? null,
      loginMaxAgeSec: env.TELEGRAM_LOGIN_MAX_AGE_SEC,
      deepLinkTtlSec: env.TELEGRAM_DEEP_LINK_TTL_SEC,
    },
    did: { enabled: env.DID_AUTH_ENABLED, autoProvision: env.DID_AUTO_PROVISION, timestampWindowSec: env.DID_TIMESTAMP_WINDOW_SEC },
  };
}

export function authSettings(env: Env): AuthSettings {
  return {
    jwtSecret: env.JWT_SECRET ?? null,
    accessTokenTtlSec: env.ACCESS_TOKEN_TTL_SEC,
    refreshTokenTtlSec: env.REFRESH_TOKEN_TTL_SEC,
    cookieSecure: env.COOKIE_SECURE === "true" || (env.COOKIE_SECURE === "auto" && !!env.PUBLIC_URL?.startsWith("https://")),
    login: {
      maxFailuresPerAccount: env.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
      windowSec: env.LOGIN_FAILURE_WINDOW_SEC,
      lockoutSec: env.LOGIN_LOCKOUT_SEC,
      accountMaxDelaySec: env.LOGIN_ACCOUNT_MAX_DELAY_SEC,
    },
  };
}

export function rateLimitSettings(env: Env): RateLimitSettings {
  return {
    windowSeconds: env.RATE_LIMIT_WINDOW,
    key: { rpm: env.RATE_LIMIT_REQUESTS, tpm: env.RATE_LIMIT_TOKENS, concurrency: env.RATE_LIMIT_CONCURRENCY },
    account: { rpm: env.RATE_LIMIT_ACCOUNT_REQUESTS, tpm: env.RATE_LIMIT_ACCOUNT_TOKENS, concurrency: env.RATE_LIMIT_ACCOUNT_CONCURRENCY },
    model: { rpm: env.RATE_LIMIT_MODEL_REQUESTS, tpm: env.RATE_LIMIT_MODEL_TOKENS, concurrency: env.RATE_LIMIT_MODEL_CONCURRENCY },
    provider: { rpm: env.RATE_LIMIT_PROVIDER_REQUESTS, tpm: env.RATE_LIMIT_PROVIDER_TOKENS, concurrency: env.RATE_LIMIT_PROVIDER_CONCURRENCY },
    global: { rpm: env.RATE_LIMIT_GLOBAL_REQUESTS, tpm: env.RATE_LIMIT_GLOBAL_TOKENS, concurrency: env.RATE_LIMIT_GLOBAL_CONCURRENCY },
    leaseMs: env.RATE_LIMIT_LEASE_MS,
    processes: env.RATE_LIMIT_PROCESSES,
    localLeases: env.RATE_LIMIT_LOCAL_LEASES,
  };
}

export function routingSettings(env: Env): RoutingSettings {
  return {
    encryptionKey: env.ENCRYPTION_KEY ?? null,
    breaker: {
      windowMs: env.BREAKER_WINDOW_MS,
      buckets: 10,
      minRequests: env.BREAKER_MIN_REQUESTS,
      failureRate: env.BREAKER_FAILURE_PCT / 100,
      cooldownMs: env.BREAKER_COOLDOWN_MS,
      // A half-open probe may take as long as the longest upstream call.
      probeTimeoutMs: Math.max(env.UPSTREAM_TOTAL_TIMEOUT_MS, env.BREAKER_COOLDOWN_MS),
    },
    retry: {
      maxAttempts: env.ROUTING_MAX_ATTEMPTS,
      baseDelayMs: env.ROUTING_RETRY_BASE_MS,
      maxDelayMs: env.ROUTING_RETRY_MAX_MS,
      deadlineMs: env.ROUTING_DEADLINE_MS,
    },
    retryBudget: { ratio: env.ROUTING_RETRY_BUDGET_PCT / 100, minPerWindow: env.ROUTING_RETRY_BUDGET_MIN },
    cache: {
      ttlMs: env.RESPONSE_CACHE_TTL_MS,
      maxEntries: env.RESPONSE_CACHE_MAX_ENTRIES,
      maxBytes: env.RESPONSE_CACHE_MAX_BYTES,
      maxEntryBytes: env.RESPONSE_CACHE_MAX_ENTRY_BYTES,
    },
    cacheHitPriceBp: fractionToBp(env.RESPONSE_CACHE_HIT_PRICE),
    reloadMs: env.ROUTING_RELOAD_MS,
  };
}

export function catalogSyncSettings(env: Env): CatalogSyncSettings {
  return {
    openRouterBaseUrl: env.OPENROUTER_BASE_URL,
    openRouterApiKey: env.OPENROUTER_API_KEY ?? null,
    maxChangePct: env.CATALOG_SYNC_MAX_CHANGE_PCT,
    intervalMin: env.CATALOG_SYNC_INTERVAL_MIN,
  };
}

function intList(s: string): bigint[] {
  return [...new Set(s.split(",").map((x) => BigInt(x.trim())))].filter((x) => x > 0n).sort((a, b) => (a < b ? -1 : 1));
}

export function paymentsSettings(env: Env): PaymentsConfig {
  const starRateMicros = parseMoney(env.PAYMENTS_STAR_RATE);
  const rubRateMicros = parseMoney(env.PAYMENTS_RUB_RATE);
  const providerToken = env.TELEGRAM_PROVIDER_TOKEN ?? null;
  const starPackages: TopupPackage[] = intList(env.PAYMENTS_STAR_PACKAGES).map((stars) => ({
    id: `s${stars}`,
    provider: "tg_stars",
    currency: "XTR",
    amountMinor: stars,
    creditsMicros: creditsForStars(stars, starRateMicros),
  }));
  const rubPackages: TopupPackage[] = providerToken
    ? intList(env.PAYMENTS_RUB_PACKAGES).map((rub) => ({
        id: `r${rub}`,
        provider: "tg_provider",
        currency: "RUB",
        amountMinor: rub * 100n,
        creditsMicros: creditsForKopecks(rub * 100n, rubRateMicros),
      }))
    : [];
  const yookassa: YooKassaSettings | null =
    env.YOOKASSA_SHOP_ID && env.YOOKASSA_SECRET_KEY
      ? {
          shopId: env.YOOKASSA_SHOP_ID,
          secretKey: env.YOOKASSA_SECRET_KEY,
          apiRoot: trimSlash(env.YOOKASSA_API_ROOT),
          returnUrl: env.YOOKASSA_RETURN_URL ?? (env.PUBLIC_URL ? `${trimSlash(env.PUBLIC_URL)}/dashboard/billing` : null),
          ipAllowlist: env.YOOKASSA_IP_ALLOWLIST
            ? env.YOOKASSA_IP_ALLOWLIST.split(",")
                .map((s) => s.trim())
                .filter(Boolean)
            : DEFAULT_YOOKASSA_IPS,
          trustedProxyHops: env.YOOKASSA_TRUSTED_PROXY_HOPS,
          minAmountMinor: BigInt(env.YOOKASSA_MIN_AMOUNT) * 100n,
          maxAmountMinor: BigInt(env.YOOKASSA_MAX_AMOUNT) * 100n,
        }
      : null;
  return {
    accountCurrency: env.BILLING_CURRENCY,
    starRateMicros,
    rubRateMicros,
    starPackages,
    rubPackages,
    providerToken,
    orderTtlMs: env.PAYMENTS_ORDER_TTL_MINUTES * 60_000,
    referralBasisPoints: percentToBasisPoints(env.REFERRAL_PERCENT),
    yookassa,
  };
}

/** Tracing, error reporting and generation export (src/telemetry); each off until configured. */
export function telemetrySettings(env: Env): TelemetrySettings {
  return {
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
    otlpHeaders: env.OTEL_EXPORTER_OTLP_HEADERS ?? null,
    serviceName: env.OTEL_SERVICE_NAME,
    sentryDsn: env.SENTRY_DSN ?? null,
    sentryEnvironment: env.SENTRY_ENVIRONMENT,
    langfuse:
      env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY
        ? { baseUrl: env.LANGFUSE_BASE_URL, publicKey: env.LANGFUSE_PUBLIC_KEY, secretKey: env.LANGFUSE_SECRET_KEY }
        : null,
    currency: env.BILLING_CURRENCY,
  };
}

/** Per-account OpenRouter keys (src/upstream-keys); null while OPENROUTER_PER_ACCOUNT_KEYS is off. */
export interface CustomerKeyWiring {
  baseUrl: string;
  provisioningKey: string;
  encryptionKey: string;
  syncIntervalMs: number;
  keys: CustomerKeySettings;
}

export function customerKeySettings(env: Env): CustomerKeyWiring | null {
  if (!env.OPENROUTER_PER_ACCOUNT_KEYS) return null;
  if (!env.OPENROUTER_PROVISIONING_KEY) throw new ConfigError("OPENROUTER_PER_ACCOUNT_KEYS=true needs OPENROUTER_PROVISIONING_KEY");
  if (!env.ENCRYPTION_KEY) throw new ConfigError("OPENROUTER_PER_ACCOUNT_KEYS=true needs ENCRYPTION_KEY: the customer keys are stored encrypted");
  return {
    baseUrl: trimSlash(env.OPENROUTER_BASE_URL),
    provisioningKey: env.OPENROUTER_PROVISIONING_KEY,
    encryptionKey: env.ENCRYPTION_KEY,
    syncIntervalMs: env.OPENROUTER_KEY_SYNC_SECONDS * 1000,
    keys: { cacheTtlMs: 10 * 60_000, retryAfterMs: 60_000, cacheEntries: 100_000 },
  };
}
