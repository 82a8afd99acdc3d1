import { errorFrom, GatewayConnectionError, GatewayError } from "./errors.js";
import { backoffMs, DEFAULT_RETRY, retryAfterSeconds, shouldRetry, type RetryOptions } from "./retry.js";
import type { paths } from "./schema.js";

type Method = "get" | "post" | "put" | "patch" | "delete";
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M & keyof paths[P]]>;

/** The JSON of the operation's success answer (200, else 201). */
export type ResponseOf<P extends keyof paths, M extends Method> =
  Op<P, M> extends { responses: infer R }
    ? R extends { 200: { content: { "application/json": infer J } } }
      ? J
      : R extends { 201: { content: { "application/json": infer J } } }
        ? J
        : unknown
    : never;
export type BodyOf<P extends keyof paths, M extends Method> = Op<P, M> extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
export type QueryOf<P extends keyof paths, M extends Method> = Op<P, M> extends { parameters: { query?: infer Q } } ? (Q extends never ? never : NonNullable<Q>) : never;

export interface GatewayClientOptions {
  /** The gateway's base URL, e.g. `https://gateway.example.com` (no `/v1`). */
  baseUrl: string;
  /** An API key (`sk-gw-…`) for the client API, or a session access token. */
  apiKey?: string;
  /** ADMIN_TOKEN (or an admin's access token) for `admin.*`. */
  adminToken?: string;
  retry?: Partial<RetryOptions>;
  /** Per attempt (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface Call {
  method: Method;
  path: string;
  pathParams?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  auth: "key" | "admin";
}

/**
 * Typed client of the gateway's own API: balance, usage, keys, generations, models with prices,
 * payments; and the admin API (accounts, tariffs, prices). Inference (`/v1/chat/completions`, …)
 * is not here on purpose: use the official `openai` SDK with `baseURL: <gateway>/v1`.
 */
export class GatewayClient {
  private readonly base: string;
  private readonly retry: RetryOptions;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: GatewayClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.fetchImpl = opts.fetch ?? fetch;
  }

  // ------------------------------------------------------------------ client API (API key)

  /** Balance, what open requests hold, and what is available (account currency). */
  balance() {
    return this.call<ResponseOf<"/v1/client/balance", "get">>({ method: "get", path: "/v1/client/balance", auth: "key" });
  }
  /** Today, this month and all time: requests, tokens, cost. */
  usage() {
    return this.call<ResponseOf<"/v1/client/usage", "get">>({ method: "get", path: "/v1/client/usage", auth: "key" });
  }
  usageDaily(query?: QueryOf<"/v1/client/usage/daily", "get">) {
    return this.call<ResponseOf<"/v1/client/usage/daily", "get">>({ method: "get", path: "/v1/client/usage/daily", query, auth: "key" });
  }
  recentRequests(query?: QueryOf<"/v1/client/recent-requests", "get">) {
    return this.call<ResponseOf<"/v1/client/recent-requests", "get">>({ method: "get", path: "/v1/client/recent-requests", query, auth: "key" });
  }
  /** The calling key: limits, usage, expiry (OpenRouter's `GET /v1/key`). */
  key() {
    return this.call<ResponseOf<"/v1/key", "get">>({ method: "get", path: "/v1/key", auth: "key" });
  }
  /** One request's tokens, cost and timing by its id (`x-request-id`, `req_…`). */
  generation(id: string) {
    return this.call<ResponseOf<"/v1/generation", "get">>({ method: "get", path: "/v1/generation", query: { id }, auth: "key" });
  }
  /** The catalog with prices per token in the account currency. */
  models() {
    return this.call<ResponseOf<"/v1/models", "get">>({ method: "get", path: "/v1/models", auth: "key" });
  }

  /** The caller's keys (a session token or a key with the `manage` scope). */
  readonly keys = {
    list: (query?: QueryOf<"/v1/auth/api-keys", "get">) => this.call<ResponseOf<"/v1/auth/api-keys", "get">>({ method: "get", path: "/v1/auth/api-keys", query, auth: "key" }),
    create: (body: BodyOf<"/v1/auth/api-keys", "post">) => this.call<ResponseOf<"/v1/auth/api-keys", "post">>({ method: "post", path: "/v1/auth/api-keys", body, auth: "key" }),
    update: (id: string, body: BodyOf<"/v1/auth/api-keys/{id}", "patch">) =>
      this.call<ResponseOf<"/v1/auth/api-keys/{id}", "patch">>({ method: "patch", path: "/v1/auth/api-keys/{id}", pathParams: { id }, body, auth: "key" }),
    revoke: (id: string) => this.call<ResponseOf<"/v1/auth/api-keys/{id}", "delete">>({ method: "delete", path: "/v1/auth/api-keys/{id}", pathParams: { id }, auth: "key" }),
  };

  readonly payments = {
    /** Starts a YooKassa top-up; the answer has the confirmation URL to send the payer to. */
    createYooKassa: (body: BodyOf<"/v1/payments/yookassa", "post">) => this.call<ResponseOf<"/v1/payments/yookassa", "post">>({ method: "post", path: "/v1/payments/yookassa", body, auth: "key" }),
    order: (id: string) => this.call<ResponseOf<"/v1/payments/orders/{id}", "get">>({ method: "get", path: "/v1/payments/orders/{id}", pathParams: { id }, auth: "key" }),
  };

  // ------------------------------------------------------------------ admin API (admin token)

  readonly admin = {
    accounts: {
      create: (body: BodyOf<"/admin/accounts", "post">) => this.call<ResponseOf<"/admin/accounts", "post">>({ method: "post", path: "/admin/accounts", body, auth: "admin" }),
      list: (query?: QueryOf<"/admin/accounts", "get">) => this.call<ResponseOf<"/admin/accounts", "get">>({ method: "get", path: "/admin/accounts", query, auth: "admin" }),
      get: (id: string) => this.call<ResponseOf<"/admin/accounts/{id}", "get">>({ method: "get", path: "/admin/accounts/{id}", pathParams: { id }, auth: "admin" }),
      update: (id: string, body: BodyOf<"/admin/accounts/{id}", "patch">) =>
        this.call<ResponseOf<"/admin/accounts/{id}", "patch">>({ method: "patch", path: "/admin/accounts/{id}", pathParams: { id }, body, auth: "admin" }),
      /** Credit (positive) or debit (negative); pass `idempotency_key` to make a retry safe. */
      adjust: (id: string, body: BodyOf<"/admin/accounts/{id}/adjustments", "post">) =>
        this.call<ResponseOf<"/admin/accounts/{id}/adjustments", "post">>({ method: "post", path: "/admin/accounts/{id}/adjustments", pathParams: { id }, body, auth: "admin" }),
      ledger: (id: string, query?: QueryOf<"/admin/accounts/{id}/ledger", "get">) =>
        this.call<ResponseOf<"/admin/accounts/{id}/ledger", "get">>({ method: "get", path: "/admin/accounts/{id}/ledger", pathParams: { id }, query, auth: "admin" }),
      setTariff: (id: string, body: BodyOf<"/admin/accounts/{id}/tariff", "put">) =>
        this.call<ResponseOf<"/admin/accounts/{id}/tariff", "put">>({ method: "put", path: "/admin/accounts/{id}/tariff", pathParams: { id }, body, auth: "admin" }),
    },
    /** A key for an account (shown once). */
    generateKey: (body: BodyOf<"/v1/key/generate", "post">) => this.call<ResponseOf<"/v1/key/generate", "post">>({ method: "post", path: "/v1/key/generate", body, auth: "admin" }),
    tariffs: {
      list: () => this.call<ResponseOf<"/admin/tariffs", "get">>({ method: "get", path: "/admin/tariffs", auth: "admin" }),
      create: (body: BodyOf<"/admin/tariffs", "post">) => this.call<ResponseOf<"/admin/tariffs", "post">>({ method: "post", path: "/admin/tariffs", body, auth: "admin" }),
      get: (id: string) => this.call<ResponseOf<"/admin/tariffs/{id}", "get">>({ method: "get", path: "/admin/tariffs/{id}", pathParams: { id }, auth: "admin" }),
      update: (id: string, body: BodyOf<"/admin/tariffs/{id}", "patch">) =>
        this.call<ResponseOf<"/admin/tariffs/{id}", "patch">>({ method: "patch", path: "/admin/tariffs/{id}", pathParams: { id }, body, auth: "admin" }),
      archive: (id: string) => this.call<ResponseOf<"/admin/tariffs/{id}", "delete">>({ method: "delete", path: "/admin/tariffs/{id}", pathParams: { id }, auth: "admin" }),
    },
    prices: {
      list: (query?: QueryOf<"/admin/prices", "get">) => this.call<ResponseOf<"/admin/prices", "get">>({ method: "get", path: "/admin/prices", query, auth: "admin" }),
      set: (body: BodyOf<"/admin/prices", "put">) => this.call<ResponseOf<"/admin/prices", "put">>({ method: "put", path: "/admin/prices", body, auth: "admin" }),
      remove: (query: QueryOf<"/admin/prices", "delete">) => this.call<ResponseOf<"/admin/prices", "delete">>({ method: "delete", path: "/admin/prices", query, auth: "admin" }),
      sync: () => this.call<ResponseOf<"/admin/prices/sync", "post">>({ method: "post", path: "/admin/prices/sync", auth: "admin" }),
    },
  };

  // ------------------------------------------------------------------ transport

  private url(c: Call): string {
    let path = c.path;
    for (const [k, v] of Object.entries(c.pathParams ?? {})) path = path.replace(`{${k}}`, encodeURIComponent(v));
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined && v !== null) q.set(k, String(v));
    const qs = q.toString();
    return `${this.base}${path}${qs ? `?${qs}` : ""}`;
  }

  private async call<T>(c: Call): Promise<T> {
    const token = c.auth === "admin" ? this.opts.adminToken : this.opts.apiKey;
    if (!token) throw new TypeError(c.auth === "admin" ? "GatewayClient: adminToken is not set" : "GatewayClient: apiKey is not set");
    const method = c.method.toUpperCase();
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
    if (c.body !== undefined) headers["content-type"] = "application/json";
    const url = this.url(c);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body: c.body === undefined ? undefined : JSON.stringify(c.body), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
      } catch (e) {
        // No answer: safe to repeat only for methods without side effects.
        if (attempt < this.retry.maxRetries && (method === "GET" || method === "PUT" || method === "DELETE")) {
          await sleep(backoffMs(attempt + 1, null, this.retry));
          continue;
        }
        throw new GatewayConnectionError(`${method} ${c.path}: ${(e as Error).message}`, e);
      }
      if (res.ok) return (res.status === 204 ? undefined : await res.json()) as T;
      const after = retryAfterSeconds(res.headers.get("retry-after"));
      if (attempt < this.retry.maxRetries && shouldRetry(res.status, method)) {
        await res.body?.cancel();
        await sleep(backoffMs(attempt + 1, after, this.retry));
        continue;
      }
      throw await errorFrom(res, after);
    }
  }
}

export { GatewayError };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
