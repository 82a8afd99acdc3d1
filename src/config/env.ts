import { z } from "zod";
import { ConfigError } from "../core/config-error.js";
import { ipOrCidrProblem } from "../core/ip.js";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");
const optStr = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
const int = (def: number) => z.coerce.number().int().min(0).default(def);

/**
 * Every setting the gateway reads. Parsed once at start-up (main/*); nothing else reads process.env.
 * `.env.example` documents each of these.
 */
export const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  PUBLIC_URL: optStr,

  DATA_DIR: z.string().default("./data"),
  DATABASE_URL: optStr.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: "must be a postgres:// or postgresql:// URL",
  }),
  DATABASE_POOL_SIZE: int(10),
  /** PGlite's shared_buffers in MiB: PostgreSQL's 128 MB default is most of PGlite's idle memory. */
  PGLITE_SHARED_BUFFERS_MB: z.coerce.number().int().min(1).max(4096).default(16),
  /** PGlite on a worker thread: its statements never block the event loop (src/db/pglite-remote.ts). */
  PGLITE_WORKER: bool.default(true),
  REDIS_URL: optStr.refine((v) => v === undefined || /^rediss?:\/\//.test(v), {
    message: "must be a redis:// or rediss:// URL",
  }),

  GATEWAY_CONFIG: optStr,
  ADMIN_TOKEN: optStr.refine((v) => v === undefined || v.length >= 16, {
    message: "must be at least 16 characters",
  }),
  /** 64 hex chars (32 bytes); encrypts upstream API keys at rest. */
  ENCRYPTION_KEY: optStr.refine((v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v), {
    message: "must be 64 hex characters (32 bytes)",
  }),
  /** Signs access tokens and session cookies. */
  JWT_SECRET: optStr.refine((v) => v === undefined || v.length >= 32, { message: "must be at least 32 characters" }),

  OPENROUTER_API_KEY: optStr,
  OPENROUTER_BASE_URL: z.string().url().default("https://openrouter.ai/api/v1"),
  UPSTREAM_BASE_URL: optStr.refine((v) => v === undefined || /^https?:\/\//.test(v), { message: "must be an http(s) URL" }),
  UPSTREAM_API_KEY: optStr,
  UPSTREAM_TYPE: z.enum(["openai", "openrouter", "litellm", "anthropic", "gemini"]).default("openai"),
  UPSTREAM_MODEL_PREFIX: z.string().default(""),

  MAX_BODY_BYTES: int(4 * 1024 * 1024),
  UPSTREAM_CONNECT_TIMEOUT_MS: int(10_000),
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: int(120_000),
  UPSTREAM_IDLE_TIMEOUT_MS: int(120_000),
  UPSTREAM_TOTAL_TIMEOUT_MS: int(600_000),
  /** Unset: 300,000 with REDIS_URL (revocations are pushed to every process), 10,000 without. */
  KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).optional(),
  /** Key verdicts kept per process: size it for the keys in use (a miss costs a database lookup). */
  KEY_CACHE_MAX_KEYS: z.coerce.number().int().min(100).default(100_000),
  SHUTDOWN_GRACE_MS: int(15_000),

  BILLING_CURRENCY: z.string().regex(/^[A-Z]{3}$/, "must be a 3-letter currency code").default("RUB"),
  /** Account-currency units per 1 USD, used until an admin sets a rate. */
  USD_RATE: z.string().regex(/^\d+(\.\d{1,6})?$/, "must be a decimal number").default("100"),
  DEFAULT_MARKUP: z.string().regex(/^\d+(\.\d{1,6})?$/, "must be a decimal number").default("1.5"),
  DEMO_BALANCE: z.string().regex(/^\d+(\.\d{1,6})?$/).default("1000"),

  RATE_LIMIT_REQUESTS: int(30),
  RATE_LIMIT_WINDOW: z.coerce.number().int().min(1).default(60),
  // --- rate limiting (src/ratelimit). Requests/tokens are per RATE_LIMIT_WINDOW; 0 = no limit. ---
  /** Tokens per window per key (prompt estimate at admission, corrected with real usage). */
  RATE_LIMIT_TOKENS: int(1_000_000),
  /** Concurrent requests per key. */
  RATE_LIMIT_CONCURRENCY: int(0),
  /** Per account (all its keys together); the tariff's account_* fields override these. */
  RATE_LIMIT_ACCOUNT_REQUESTS: int(0),
  RATE_LIMIT_ACCOUNT_TOKENS: int(0),
  RATE_LIMIT_ACCOUNT_CONCURRENCY: int(0),
  /** Per model, across everyone. */
  RATE_LIMIT_MODEL_REQUESTS: int(0),
  RATE_LIMIT_MODEL_TOKENS: int(0),
  RATE_LIMIT_MODEL_CONCURRENCY: int(0),
  /** Per upstream provider, across everyone. */
  RATE_LIMIT_PROVIDER_REQUESTS: int(0),
  RATE_LIMIT_PROVIDER_TOKENS: int(0),
  RATE_LIMIT_PROVIDER_CONCURRENCY: int(0),
  /** The whole gateway. */
  RATE_LIMIT_GLOBAL_REQUESTS: int(0),
  RATE_LIMIT_GLOBAL_TOKENS: int(0),
  RATE_LIMIT_GLOBAL_CONCURRENCY: int(0),
  /** Concurrency slots are leases renewed while the request runs; a crashed process's slots free after this. */
  RATE_LIMIT_LEASE_MS: z.coerce.number().int().min(3000).default(60_000),
  /** Gateway processes sharing Redis: while Redis is down each enforces ceil(limit / this) in memory. */
  RATE_LIMIT_PROCESSES: z.coerce.number().int().min(1).default(1),
  /** Limits of ≥ 1000 per window are decided in each process against leased 1 % shares (no Redis call per request). */
  RATE_LIMIT_LOCAL_LEASES: bool.default(true),
  /** Redis (src/redis): a command without a reply after this long fails and Redis counts as down until a PING answers. */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(10).default(250),
  /** Prefix of every Redis key the gateway writes. */
  REDIS_KEY_PREFIX: z.string().default("llmgw:"),
  // --- end rate limiting ---

  TELEGRAM_BOT_TOKEN: optStr,
  /** The bot's @username: t.me links on the web pages and the Login Widget (its domain set with BotFather /setdomain). */
  TELEGRAM_BOT_USERNAME: z
    .string()
    .trim()
    .regex(/^@?[A-Za-z][A-Za-z0-9_]{3,31}$/, "a Telegram bot username, e.g. my_gateway_bot")
    .transform((v) => v.replace(/^@/, ""))
    .optional(),
  TELEGRAM_WEBHOOK_SECRET: optStr,
  TELEGRAM_API_ROOT: z.string().url().default("https://api.telegram.org"),
  TELEGRAM_PROVIDER_TOKEN: optStr,
  TELEGRAM_MODE: z.enum(["webhook", "polling", "off"]).default("webhook"),

  YOOKASSA_SHOP_ID: optStr,
  YOOKASSA_SECRET_KEY: optStr,
  YOOKASSA_API_ROOT: z.string().url().default("https://api.yookassa.ru/v3"),

  // --- payments & Telegram bot ---
  /** Account-currency units credited per Telegram Star (price snapshot stored on each order). */
  PAYMENTS_STAR_RATE: z.string().regex(/^\d+(\.\d{1,6})?$/, "must be a decimal number").default("1.5"),
  /** Star packages offered by /pay, comma-separated whole Stars. */
  PAYMENTS_STAR_PACKAGES: z.string().regex(/^\d+(,\d+)*$/, "comma-separated integers").default("100,250,500,1000"),
  /** Account-currency units credited per 1 RUB paid (provider invoices and YooKassa). */
  PAYMENTS_RUB_RATE: z.string().regex(/^\d+(\.\d{1,6})?$/, "must be a decimal number").default("1"),
  /** RUB packages for provider invoices (only when TELEGRAM_PROVIDER_TOKEN is set), whole rubles. */
  PAYMENTS_RUB_PACKAGES: z.string().regex(/^\d+(,\d+)*$/, "comma-separated integers").default("100,500,1000,5000"),
  /** Minutes an unpaid order can still pass pre-checkout. */
  PAYMENTS_ORDER_TTL_MINUTES: z.coerce.number().int().min(1).default(60),
  /** Inviter's share of an invitee's paid top-ups, percent (up to 2 decimals); 0 turns commissions off. */
  REFERRAL_PERCENT: z.string().regex(/^\d{1,2}(\.\d{1,2})?$|^100$/, "percent 0..100").default("10"),
  /** Seconds between getStarTransactions reconciliation runs; 0 = never. */
  PAYMENTS_RECONCILE_INTERVAL_SECONDS: int(600),
  /** Seconds between low-balance checks; 0 = never. */
  LOW_BALANCE_CHECK_INTERVAL_SECONDS: int(300),
  /** Call setWebhook (PUBLIC_URL + /telegram/webhook) at start-up in webhook mode. */
  TELEGRAM_SET_WEBHOOK: bool.default(true),
  /** Comma-separated CIDRs YooKassa notifies from; empty = YooKassa's published list. */
  YOOKASSA_IP_ALLOWLIST: optStr,
  /** Reverse proxies in front of the gateway; the client IP is taken that many hops from the right of X-Forwarded-For. */
  YOOKASSA_TRUSTED_PROXY_HOPS: int(0),
  /** Where YooKassa sends the payer after paying; default PUBLIC_URL + /dashboard/billing. */
  YOOKASSA_RETURN_URL: optStr,
  /** Web top-up bounds in rubles. */
  YOOKASSA_MIN_AMOUNT: int(100),
  YOOKASSA_MAX_AMOUNT: int(100_000),

  // --- accounts & access ---
  /** Access-token (JWT) lifetime; refresh tokens rotate on every use and live REFRESH_TOKEN_TTL_SEC. */
  ACCESS_TOKEN_TTL_SEC: z.coerce.number().int().min(30).default(900),
  REFRESH_TOKEN_TTL_SEC: z.coerce.number().int().min(60).default(7 * 24 * 3600),
  /** Session cookies' Secure flag: auto = on when PUBLIC_URL is https. */
  COOKIE_SECURE: z.enum(["auto", "true", "false"]).default("auto"),
  /** Open self-registration at POST /v1/auth/register (admins can always create users). */
  REGISTRATION_ENABLED: bool.default(true),
  /** Login brute-force slow-down (src/accounts/login-throttle.ts): free failures per account+address / per address, window, longest wait. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).default(30),
  LOGIN_FAILURE_WINDOW_SEC: z.coerce.number().int().min(1).default(900),
  LOGIN_LOCKOUT_SEC: z.coerce.number().int().min(1).default(900),
  /** Longest wait between attempts on one account counted over every address (the owner waits at most this). */
  LOGIN_ACCOUNT_MAX_DELAY_SEC: z.coerce.number().int().min(1).default(60),
  /** Telegram Login Widget: max age of auth_date; bot deep-link login nonce lifetime. */
  TELEGRAM_LOGIN_MAX_AGE_SEC: z.coerce.number().int().min(10).max(86_400).default(600),
  TELEGRAM_DEEP_LINK_TTL_SEC: z.coerce.number().int().min(30).default(300),
  /** DID-signed requests (x-did headers): accepted at all, clock window, auto-provisioning on first contact. */
  DID_AUTH_ENABLED: bool.default(true),
  DID_TIMESTAMP_WINDOW_SEC: z.coerce.number().int().min(1).default(300),
  DID_AUTO_PROVISION: bool.default(false),

  // --- billing (src/billing) ---
  /**
   * Output a hold covers when the client sent no max_tokens and the model's max output is unknown
   * (known: the hold covers the model's max). Not written upstream: streams are cut at the hold's
   * budget; a non-stream request gets a cap only when the balance or limits cover less than that.
   */
  BILLING_DEFAULT_MAX_TOKENS: z.coerce.number().int().min(1).default(16384),
  /** Smallest max_tokens worth admitting when the gateway picks it from what the balance/limits cover. */
  BILLING_MIN_MAX_TOKENS: z.coerce.number().int().min(1).default(1),
  /** Most completions one request may ask for (`n`, `best_of`); the hold covers every one. Above → 400. */
  BILLING_MAX_CHOICES: z.coerce.number().int().min(1).max(128).default(16),
  /** A hold not settled after this long is settled from the request log or released by the sweeper. */
  BILLING_HOLD_TTL_MS: z.coerce.number().int().min(1000).default(15 * 60_000),
  /** Sweeper period; 0 = do not run it in this process. */
  BILLING_SWEEP_INTERVAL_MS: int(30_000),
  /**
   * Streams record on their hold, before sending, an upper bound of the output delivered, this many
   * tokens ahead: a crash bills every stream at least what it delivered and at most this much more.
   */
  STREAM_PROGRESS_AHEAD_TOKENS: z.coerce.number().int().min(1).max(100_000).default(64),
  /** Live streams re-extend their holds this often (a hold never expires while its stream runs). */
  HOLD_HEARTBEAT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Final request-log rows are journaled to a local file before they are queued (a crash cannot lose them). */
  REQUEST_LOG_JOURNAL: bool.default(true),
  /** Where; empty = DATA_DIR/request-log-journal. One directory per process (or per host: files are per process). */
  REQUEST_LOG_JOURNAL_DIR: z.string().default(""),
  /** fdatasync period of the journal (power loss); 0 = never (a process crash still loses nothing). */
  REQUEST_LOG_JOURNAL_FSYNC_MS: int(100),
  /** A request-log row the database refuses this many times is dropped with an error log line. */
  REQUEST_LOG_MAX_ROW_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  /**
   * The operator's explicit price for a model with no known price (no config price, no price-book
   * row): admitted with this fixed hold (account currency) and charged the upstream-reported cost ×
   * rate × markup, or this amount per request when the upstream reports none. Empty (the default) =
   * such models are refused with `model_not_priced` (demo mode prices them at 0.01 per request).
   */
  BILLING_UNPRICED_HOLD: z.string().regex(/^(\d+(\.\d{1,6})?)?$/, "must be a decimal number").default(""),
  /** IANA time zone of the daily/monthly quota windows and usage reports. */
  BILLING_TIMEZONE: z.string().default("UTC"),
  /** How long a process trusts its cached price book, tariffs and FX rate (other processes' edits show up after this). */
  BILLING_CACHE_TTL_MS: int(5_000),
  /** Most holds (or settlements) written in one database call when they queue up (group commit); 1 = one call each. */
  BILLING_SETTLE_BATCH: z.coerce.number().int().min(1).max(1000).default(64),
  /**
   * Balance leases (billing/lease.ts): each process reserves a slice of an account's spendable
   * balance in one statement and admits the requests (streams too) of accounts without quota
   * windows against it in memory; settlements and streams' crash bounds go to a local fsync'd
   * journal before the answer (the output) leaves and reach the ledger in batches. `off` = every
   * request holds and settles in the database.
   */
  BILLING_LEASE: z.enum(["off", "on"]).default("on"),
  /** Largest slice one lease takes (account currency); a lease never takes more than half the spendable balance. */
  BILLING_LEASE_MAX: z.string().regex(/^\d+(\.\d{1,6})?$/, "must be a decimal number").default("100"),
  /** Smallest slice worth a lease (account currency); below it (or below two requests' holds) requests hold in the database. */
  BILLING_LEASE_MIN: z.string().regex(/^\d+(\.\d{1,6})?$/, "must be a decimal number").default("0.01"),
  /** Where the lease journal lives; empty = DATA_DIR/billing-journal (one file per process, replayed by the next start). */
  BILLING_LEASE_JOURNAL_DIR: z.string().default(""),
  /**
   * 0 (default): a leased request's journal record is fdatasync'd before its answer leaves (records of
   * concurrent requests share one sync). N > 0: the record is written before the answer (a process
   * crash loses nothing) and fdatasync'd every N ms; a power loss may lose the last N ms of charges
   * (the operator's loss, never a client overspend).
   */
  BILLING_LEASE_JOURNAL_FSYNC_MS: int(0),
  /** How often journaled settlements are applied to the database (one transaction per batch). */
  BILLING_LEASE_APPLY_MS: z.coerce.number().int().min(5).max(5_000).default(50),
  /** Leases are renewed this often; one unused this long (×2) is given back. */
  BILLING_LEASE_RENEW_MS: z.coerce.number().int().min(200).max(600_000).default(10_000),
  /** Catalog sync: a price moving by more than this percent waits for admin approval. */
  CATALOG_SYNC_MAX_CHANGE_PCT: z.coerce.number().min(0).default(20),
  /** Minutes between catalog syncs from OpenRouter's /models; 0 = only on demand. */
  CATALOG_SYNC_INTERVAL_MIN: int(0),
  // --- end billing ---

  // --- routing & resilience (src/routing) ---
  /** Upstream calls per request, the first included (fallbacks to other routes count too). */
  ROUTING_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** Backoff before re-trying the same upstream: full jitter up to min(max, base·2^n) ms. */
  ROUTING_RETRY_BASE_MS: int(100),
  ROUTING_RETRY_MAX_MS: int(2000),
  /** No new upstream attempt starts after this long since the request began. */
  ROUTING_DEADLINE_MS: int(30_000),
  /** Per-upstream retry budget: retries ≤ this percent of its recent requests (plus the floor per window). */
  ROUTING_RETRY_BUDGET_PCT: z.coerce.number().min(0).max(100).default(20),
  ROUTING_RETRY_BUDGET_MIN: int(10),
  /** Circuit breaker per upstream account: opens at this failure percent over the window, once it holds the minimum requests. */
  BREAKER_FAILURE_PCT: z.coerce.number().gt(0).max(100).default(50),
  BREAKER_MIN_REQUESTS: z.coerce.number().int().min(1).default(10),
  BREAKER_WINDOW_MS: z.coerce.number().int().min(100).default(60_000),
  /** Open → one half-open probe after this long. */
  BREAKER_COOLDOWN_MS: int(30_000),
  /** How often the runtime routing tables (admin API edits) are re-read by every process. */
  ROUTING_RELOAD_MS: int(5_000),
  /** Response cache (opt-in per request header x-gateway-cache or key option cache): entry lifetime and bounds. */
  RESPONSE_CACHE_TTL_MS: int(300_000),
  RESPONSE_CACHE_MAX_ENTRIES: int(1000),
  RESPONSE_CACHE_MAX_BYTES: int(64 * 1024 * 1024),
  RESPONSE_CACHE_MAX_ENTRY_BYTES: int(1024 * 1024),
  /** Fraction of the normal price a cache hit costs (0 = free, 1 = full price). */
  RESPONSE_CACHE_HIT_PRICE: z.string().regex(/^(0(\.\d{1,4})?|1(\.0{1,4})?)$/, "must be a decimal between 0 and 1").default("0"),
  // --- end routing & resilience ---

  // --- operating the business (alerts, e-mail, retention, single-tenant keys, per-customer upstream keys) ---
  /** Comma-separated `sk-gw-…` keys accepted as if issued (single-tenant bootstrap); they belong to account `acct_allowed`. */
  ALLOWED_API_KEYS: z
    .string()
    .default("")
    .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .refine((l) => l.every((k) => /^sk-gw-[A-Za-z0-9_-]{32,122}$/.test(k)), { message: "each key must look like sk-gw- followed by 32+ letters/digits" }),
  /** When the upstream reports a cost above the list price: charge max(list, reported) × markup, or keep the list price (tariffs override). */
  BILLING_MARGIN_RULE: z.enum(["charge_reported", "list_price"]).default("charge_reported"),
  /** SMTP for customer e-mail (verification, password reset, receipts, low balance) and operator alerts; unset host = no e-mail. */
  SMTP_HOST: optStr,
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(587),
  /** true = TLS from the first byte (port 465); false = STARTTLS when the server offers it. */
  SMTP_SECURE: bool.default(false),
  SMTP_USER: optStr,
  SMTP_PASSWORD: optStr,
  MAIL_FROM: z.string().default("LLM Gateway <no-reply@localhost>"),
  /** Lifetimes of the one-time links sent by e-mail. */
  EMAIL_VERIFY_TTL_MIN: z.coerce.number().int().min(1).default(24 * 60),
  PASSWORD_RESET_TTL_MIN: z.coerce.number().int().min(1).default(30),
  /** Operator alerts: a Telegram chat (the bot must be a member) and/or an e-mail address; the same alert repeats at most once per interval. */
  ALERT_TELEGRAM_CHAT_ID: optStr,
  ALERT_EMAIL_TO: optStr,
  ALERT_REPEAT_MINUTES: int(60),
  /** Upstream-account balance (USD) below which an alert is sent; empty = never. */
  ALERT_UPSTREAM_BALANCE_USD: z.string().regex(/^(\d+(\.\d{1,6})?)?$/, "must be a decimal number").default(""),
  /** Request-log rows older than this many days are deleted (their daily totals are kept); 0 = keep forever. */
  REQUEST_LOG_RETENTION_DAYS: int(0),
  /** Settled or released holds older than this many days are deleted; 0 = keep forever. */
  HOLD_RETENTION_DAYS: int(7),
  /** Minutes between retention runs (PGlite is also VACUUMed then); 0 = never. */
  RETENTION_INTERVAL_MIN: int(60),
  /** Shown by the bot and in e-mail: where customers ask for help, and the API base URL they use (default PUBLIC_URL + /v1). */
  SUPPORT_CONTACT: optStr,
  API_BASE_URL: optStr,
  /** Seconds after which the bot deletes the message carrying a new API key; 0 = keep it. */
  BOT_KEY_MESSAGE_TTL_SEC: int(0),
  /** YooKassa vat_code on 54-FZ receipts of RUB provider invoices in the bot (1 = без НДС … 6 = 20/120). */
  PAYMENTS_RECEIPT_VAT_CODE: z.coerce.number().int().min(1).max(12).default(1),
  /** OpenRouter provisioning key: with OPENROUTER_PER_ACCOUNT_KEYS each account gets its own OpenRouter key. */
  OPENROUTER_PROVISIONING_KEY: optStr,
  OPENROUTER_PER_ACCOUNT_KEYS: bool.default(false),
  /** Seconds between syncs of the per-account keys' credit limits and states with OpenRouter; 0 = only after top-ups and blocks. */
  OPENROUTER_KEY_SYNC_SECONDS: int(300),
  // --- end operating the business ---

  // --- hardening (src/http/body-limits.ts, src/http/cors.ts, src/routing/base-url-guard.ts, src/db/availability.ts) ---
  /** Deepest nesting of objects/arrays accepted in a JSON request body (400 json_too_deep beyond). */
  MAX_JSON_DEPTH: z.coerce.number().int().min(2).max(1000).default(64),
  /** Provider base URLs may point at loopback (127.0.0.0/8, ::1, localhost): a LiteLLM on the same box. */
  UPSTREAM_ALLOW_LOOPBACK: bool.default(true),
  /** … and at private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7): a LiteLLM in the same LAN/Docker network. */
  UPSTREAM_ALLOW_PRIVATE: bool.default(true),
  /** Browser origins allowed to call the key-authenticated API (comma-separated; * = any). Cookie routes: only PUBLIC_URL's origin. */
  CORS_ORIGINS: z.string().default("*"),
  /** PostgreSQL down or paused must not hold requests without bound (0 = no limit): waiting for a connection, */
  DATABASE_CONNECT_TIMEOUT_MS: int(5_000),
  /** a statement on the server (also idle in a transaction), */
  DATABASE_STATEMENT_TIMEOUT_MS: int(30_000),
  /** any reply at all (client-side; fires when the server is frozen). Such failures answer 503 + Retry-After. */
  DATABASE_QUERY_TIMEOUT_MS: int(35_000),
  // --- end hardening ---

  METRICS_ENABLED: bool.default(true),
  /** The plain node:http front for chat/completions/embeddings API calls (src/http/inference-front.ts); false = every request through Hono. */
  INFERENCE_FRONT: bool.default(true),

  // --- deployment & observability ---
  /** Reverse proxies (IPs / CIDRs, comma-separated) whose X-Forwarded-For is believed for the client address. */
  TRUSTED_PROXIES: z
    .string()
    .default("")
    .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .superRefine((list, ctx) => {
      for (const e of list) {
        const p = ipOrCidrProblem(e);
        if (p) ctx.addIssue({ code: "custom", message: `${e}: ${p}` });
      }
    }),
  /** Processes serving HTTP on this box (node:cluster): `auto` = one per CPU core, 1 = no cluster. */
  WORKERS: z
    .string()
    .default("1")
    .refine((v) => v === "auto" || /^[1-9]\d{0,2}$/.test(v), { message: "must be auto or a number of processes (1-999)" }),
  /** OpenTelemetry traces over OTLP/HTTP (JSON): base URL of the collector, e.g. http://127.0.0.1:4318. Unset = off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optStr.refine((v) => v === undefined || /^https?:\/\//.test(v), { message: "must be an http(s) URL" }),
  /** Extra headers for the OTLP exporter: `key=value,key2=value2`. */
  OTEL_EXPORTER_OTLP_HEADERS: optStr,
  OTEL_SERVICE_NAME: z.string().default("llm-gateway"),
  /** Sentry DSN for unexpected errors (5xx). Unset = off. */
  SENTRY_DSN: optStr.refine((v) => v === undefined || /^https?:\/\/[^@/]+@[^/]+\/.+/.test(v), { message: "must be a DSN like https://<key>@<host>/<project>" }),
  SENTRY_ENVIRONMENT: z.string().default("production"),
  /** Langfuse export of generations (model, tokens, cost, latency; no prompt text). Both keys set = on. */
  LANGFUSE_PUBLIC_KEY: optStr,
  LANGFUSE_SECRET_KEY: optStr,
  LANGFUSE_BASE_URL: z.string().url().default("https://cloud.langfuse.com"),
});

export type Env = z.infer<typeof EnvSchema>;

export { ConfigError };

/** Parse the environment once; a bad value stops start-up with a message naming every bad setting. */
export function loadEnv(raw: Record<string, string | undefined>): Env {
  const r = EnvSchema.safeParse(raw);
  if (r.success) return Object.freeze(r.data);
  const lines = r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
  throw new ConfigError(`Invalid environment:\n${lines.join("\n")}`);
}
