import type { ServerResponse } from "node:http";
import type { Catalog } from "../catalog/index.js";
import type { BillingHooks, AuthContext, Endpoint, RateLimitHooks } from "../contracts/request.js";
import type { Clock } from "../core/clock.js";
import type { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { RequestLogWriter } from "../logs/request-log-writer.js";
import type { AccountUpstreamKeys, AttemptPlanner } from "../routing/attempt.js";
import type { CircuitBreakers } from "../routing/circuit-breaker.js";
import type { ResponseCacheStore } from "../routing/response-cache.js";
import type { RetryBudget, RetryPolicy } from "../routing/retry.js";
import type { Rng } from "../routing/rng.js";
import type { InboundDialect } from "./dialects/dialect.js";
import type { StreamProgressHooks } from "./stream-progress.js";
import type { UpstreamClient } from "./upstream.js";

// What the proxy service and the parts it hands a request to (inference-run, cache-hit) share;
// in its own module so those parts don't import the service that imports them.

export interface ProxyDeps {
  catalog: Catalog;
  planner: AttemptPlanner;
  upstream: UpstreamClient;
  billing: BillingHooks;
  rateLimit: RateLimitHooks;
  logs: RequestLogWriter;
  logger: Logger;
  clock: Clock;
  /** Open streams count as in flight until they end, so shutdown drains them. */
  inflight: { count: number };
  /** Retry policy, per-upstream retry budget and circuit breakers (src/routing). Default: in memory. */
  resilience?: Resilience;
  /** Opt-in response cache (src/routing); absent = never cached. */
  cache?: { store: ResponseCacheStore; hitPriceBp: number };
  /** Most completions (`n`, `best_of`) one request may ask for. Default 16. */
  maxChoices?: number;
  /** Stream progress recorded on the hold before output is sent (src/billing/stream-progress.ts); absent = none. */
  progress?: StreamProgressHooks;
  /** Per-account OpenRouter keys (src/upstream-keys); absent = the provider's key for everyone. */
  accountKeys?: AccountUpstreamKeys;
}

export interface Resilience {
  policy: RetryPolicy;
  budget: RetryBudget;
  breakers: CircuitBreakers;
  rng?: Rng;
}

export type InferenceEndpoint = Exclude<Endpoint, "passthrough">;

export interface ProxyRequest {
  requestId: string;
  auth: AuthContext;
  endpoint: InferenceEndpoint;
  body: Record<string, unknown>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  startedAt: number;
  /** The `x-gateway-cache` request header (opt in/out of the response cache). */
  cacheControl?: string | null;
  /**
   * The Node response, when served by @hono/node-server: streams are then written to it directly
   * (no web ReadableStream in between, about half the CPU per chunk) and the handler returns
   * `RESPONSE_ALREADY_SENT`.
   */
  sink?: ServerResponse;
  /**
   * The client spoke another API than chat (Anthropic Messages, OpenAI Responses): `body` is its
   * chat translation, `clientBody` what the client sent, and the answer is written in its shape.
   */
  dialect?: {
    api: InboundDialect;
    clientBody: Record<string, unknown>;
    /** Chat can't carry this request (`body` only stands for it in holds and counts): served by native routes only, else this error. */
    untranslatable?: AppError;
  };
}

export type ResolvedDeps = ProxyDeps & { resilience: Resilience };
