/**
 * Contracts of the metered request path, shared by every domain (keys, billing, ratelimit,
 * catalog, routing, providers, proxy). The pipeline (proxy/metered-request.ts) calls the hooks in
 * order: authenticate → catalog.resolve → billing.prepare (stateless refusals) → rateLimit.admit →
 * prepared.reserve → upstream attempts → settle or release → admission.done → request log.
 */

/** Who is calling, as established by key (or DID) authentication. Cached per key for KEY_CACHE_TTL_MS. */
export interface AuthContext {
  keyId: string;
  accountId: string;
  userId: string | null;
  scopes: readonly string[];
  /** Null = all models. */
  allowedModels: readonly string[] | null;
  ipAllowlist: readonly string[] | null;
  /** Raw jsonb of the key's and account's quota settings, interpreted by billing. */
  keyLimits: Record<string, unknown>;
  accountLimits: Record<string, unknown>;
  /** Raw jsonb of the key's rate-limit overrides, interpreted by ratelimit. */
  keyRateLimits: Record<string, unknown> | null;
  keyOptions: Record<string, unknown>;
  tariffId: string | null;
  /** Raw jsonb of the account tariff's rate limits (billing's tariffs table), interpreted by ratelimit. */
  tariffRateLimits: Record<string, unknown> | null;
}

/** Token usage of one request; `estimated` when counted locally instead of reported upstream. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens read from the upstream's prompt cache (part of promptTokens). */
  cachedTokens?: number;
  /** Prompt tokens written to the upstream's prompt cache (part of promptTokens; Anthropic bills them above input). */
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  estimated: boolean;
  /** Upstream-reported cost in USD (OpenRouter's usage.cost), when given. */
  upstreamCostUsd?: number;
  /** The upstream reported a negative count or cost (dropped from the figures above; flagged on the log row). */
  negative?: boolean;
}

/** Price of a model on one route, USD micros per 1M tokens (upstream cost, before markup). */
export interface ModelPrice {
  inputMicrosPerM: bigint;
  outputMicrosPerM: bigint;
  cachedInputMicrosPerM?: bigint;
  /** Prompt tokens written to the upstream's cache; unset: the input price. */
  cacheWriteMicrosPerM?: bigint;
  reasoningMicrosPerM?: bigint;
}

/** One way to serve a model: a provider and the model name it knows. */
export interface Route {
  providerId: string;
  upstreamModel: string;
  priority: number;
  weight: number;
  price: ModelPrice | null;
}

/** A model as the catalog resolved it for this request. */
export interface ResolvedModel {
  /** Canonical public id (e.g. `openai/gpt-4o-mini`), even when the client sent an alias. */
  id: string;
  requested: string;
  routes: Route[];
  contextLength: number | null;
  maxOutput: number | null;
  /** True when no models entry named it and it goes to the first provider as is. */
  passthrough: boolean;
}

export type Endpoint = "chat.completions" | "completions" | "embeddings" | "passthrough";

/** What a request-log row names: the endpoint, or the client API translated to chat (`messages`, `responses`). */
export type LoggedEndpoint = Endpoint | "messages" | "responses";

/** What actually served the request, for cost and logging. */
export interface ServedBy {
  providerId: string;
  upstreamAccountId: string | null;
  upstreamModel: string;
  /** Upstream discount in basis points (a master account's discount), 0 when none. */
  discountBp: number;
  price: ModelPrice | null;
  /** The catalog model this attempt serves, when the planner knows it (a `models` fallback is another than the requested one). */
  modelId?: string;
}

export interface ReserveInput {
  requestId: string;
  auth: AuthContext;
  endpoint: Endpoint;
  model: ResolvedModel;
  /** Prompt tokens counted locally. */
  promptTokens: number;
  /** max_tokens / max_completion_tokens as the client sent it, if at all (per choice). */
  requestedMaxTokens: number | null;
  /** The longest this request can take (its planned routes' timeouts and retries): the hold lives at least this long. */
  holdTtlMs?: number;
  /** Completions the upstream generates for this request (`n`, or `best_of` when larger); default 1. */
  choices?: number;
  /** A stream: the gateway cuts it at the hold's budget, so no cap is written upstream for the budget's sake. */
  stream?: boolean;
}

/** What billing needs to decide, before any counter is touched, whether a model may be used at all. */
export type PrepareInput = Pick<ReserveInput, "auth" | "endpoint" | "model"> & {
  /**
   * The client's `models` fallbacks (resolved, without the model itself): each must be allowed and
   * priced like the model (a refusal names `param`), and the hold covers the dearest of them all.
   */
  fallbacks?: ReadonlyArray<{ model: ResolvedModel; param: string }>;
};

/** A request billing has accepted in principle (tariff allows the model, a price applies). */
export interface PreparedBilling {
  /** Takes the hold. Throws 402 insufficient_quota / 403 quota_exceeded when it can't be covered. */
  reserve(input: Omit<ReserveInput, "auth" | "endpoint" | "model">): Promise<Reservation>;
}

export interface SettleResult {
  upstreamCostMicros: bigint;
  priceMicros: bigint;
  /** Decimal string in the account currency, for `usage.cost` in responses. */
  costDisplay: string;
  /** Set when the upstream-reported cost exceeded the list price (billing/margin.ts); kept in the log row's meta. */
  margin?: string | null;
}

export interface Reservation {
  /** When set, the gateway sends this output cap upstream (the client's is above the model's max, or a non-stream answer must stay within what the balance covers). */
  maxTokens: number | null;
  /** Response headers to add (e.g. `x-gateway-max-tokens`). */
  headers: Record<string, string>;
  /** What the hold took (account micros): no settlement charges more. */
  holdMicros: bigint;
  /**
   * Output tokens the hold covers over all choices; null when output is not bounded by money or a
   * token quota (free output, embeddings). A stream is ended when its output reaches this.
   */
  outputTokens: number | null;
  /** Prices the real usage and settles the hold (never above holdMicros); idempotent by request id. */
  settle(usage: TokenUsage, served: ServedBy): Promise<SettleResult>;
  /** Releases the hold without charge (the request failed before any usage). */
  release(): Promise<void>;
  /** The price in account-currency micros this usage would cost, without settling (for usage.cost in a stream). */
  quote(usage: TokenUsage, served: ServedBy): SettleResult;
}

export interface BillingHooks {
  /** Stateless refusals (403 model_not_allowed by the tariff, 403 model_not_priced); no I/O beyond the cached config. */
  prepare(input: PrepareInput): Promise<PreparedBilling>;
  /** prepare + reserve in one call. */
  reserve(input: ReserveInput): Promise<Reservation>;
}

export interface AdmitInput {
  requestId: string;
  auth: AuthContext;
  model: string;
  providerId: string | null;
  estimatedTokens: number;
}

export interface Admission {
  /** x-ratelimit-* headers for the response. */
  headers: Record<string, string>;
  /** Corrects token counts with the real usage and releases concurrency slots. Never throws. */
  done(actualTokens: number): void;
}

export interface RateLimitHooks {
  /** Throws AppError rate_limit_exceeded (429, Retry-After) when a limit is hit. */
  admit(input: AdmitInput): Promise<Admission>;
}
