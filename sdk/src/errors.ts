import type { GatewayErrorCode } from "./error-codes.js";

/** The gateway's error body: `{ error: { message, type, code, param, request_id, …details } }`. */
export interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null; request_id: string | null; [detail: string]: unknown };
}

/**
 * Every non-2xx answer. `code` is the gateway's stable error code (`insufficient_quota`,
 * `rate_limit_exceeded`, `quota_exceeded`, …); extra fields such as `limit_source` are in `details`.
 */
export class GatewayError extends Error {
  override name = "GatewayError";
  constructor(
    readonly status: number,
    /** A known code, or another string from a newer gateway. */
    readonly code: GatewayErrorCode | (string & {}),
    message: string,
    readonly type: string,
    readonly param: string | null,
    readonly requestId: string | null,
    readonly details: Record<string, unknown>,
    /** Seconds from Retry-After, when the gateway sent one (429, 503). */
    readonly retryAfterSec: number | null,
  ) {
    super(message);
  }

  /** 402: the account's balance cannot cover the request. */
  get isInsufficientBalance(): boolean {
    return this.code === "insufficient_quota";
  }
  /** 429: a rate limit refused it; `retryAfterSec` says when to try again. */
  get isRateLimited(): boolean {
    return this.status === 429;
  }
}

/** No answer at all (connection refused, reset, timeout). */
export class GatewayConnectionError extends Error {
  override name = "GatewayConnectionError";
  constructor(message: string, override readonly cause: unknown) {
    super(message);
  }
}

export async function errorFrom(res: Response, retryAfterSec: number | null): Promise<GatewayError> {
  const text = await res.text().catch(() => "");
  let body: Partial<ErrorBody> | null = null;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    body = null;
  }
  const e = body?.error;
  if (!e || typeof e.code !== "string") return new GatewayError(res.status, `http_${res.status}`, text.slice(0, 200) || res.statusText, "api_error", null, res.headers.get("x-request-id"), {}, retryAfterSec);
  const { message, type, code, param, request_id, ...details } = e;
  return new GatewayError(res.status, code, message, type, param ?? null, request_id ?? res.headers.get("x-request-id"), details, retryAfterSec);
}
