/**
 * The one error type of the gateway. Every failure a client can see is an AppError with a code
 * from ERROR_TABLE; `http/errors.ts` is the only place that turns it into a response body.
 */
export const ERROR_TABLE = {
  invalid_request: [400, "invalid_request_error"],
  invalid_json: [400, "invalid_request_error"],
  /** A JSON body nested deeper than MAX_JSON_DEPTH. */
  json_too_deep: [400, "invalid_request_error"],
  /** A client field that would choose the upstream or its credentials (api_base, api_key, aws_*, …). */
  forbidden_parameter: [400, "invalid_request_error"],
  /** admin: a provider base_url that is not http(s) or points at a refused address (metadata, link-local, …). */
  upstream_url_not_allowed: [400, "invalid_request_error"],
  missing_api_key: [401, "authentication_error"],
  invalid_api_key: [401, "authentication_error"],
  invalid_token: [401, "authentication_error"],
  invalid_signature: [401, "authentication_error"],
  /** Telegram login data older than TELEGRAM_LOGIN_MAX_AGE_SEC: the user logs in with Telegram again. */
  login_expired: [401, "authentication_error"],
  invalid_credentials: [401, "authentication_error"],
  key_disabled: [403, "permission_error"],
  key_revoked: [403, "permission_error"],
  key_expired: [403, "permission_error"],
  account_blocked: [403, "permission_error"],
  user_blocked: [403, "permission_error"],
  forbidden: [403, "permission_error"],
  ip_not_allowed: [403, "permission_error"],
  model_not_allowed: [403, "permission_error"],
  csrf_failed: [403, "permission_error"],
  quota_exceeded: [403, "insufficient_quota"],
  insufficient_quota: [402, "insufficient_quota"],
  /** billing: the model has no known price and BILLING_UNPRICED_HOLD is not set. */
  model_not_priced: [403, "permission_error"],
  not_found: [404, "invalid_request_error"],
  model_not_found: [404, "invalid_request_error"],
  conflict: [409, "invalid_request_error"],
  payload_too_large: [413, "invalid_request_error"],
  unsupported_media_type: [415, "invalid_request_error"],
  rate_limit_exceeded: [429, "rate_limit_error"],
  too_many_attempts: [429, "rate_limit_error"],
  upstream_error: [502, "api_error"],
  upstream_unavailable: [503, "api_error"],
  upstream_timeout: [504, "api_error"],
  upstream_rate_limited: [429, "rate_limit_error"],
  context_length_exceeded: [400, "invalid_request_error"],
  /** A request field this gateway can't honour (e.g. the Responses API's stored state). */
  unsupported_parameter: [400, "invalid_request_error"],
  service_unavailable: [503, "api_error"],
  internal_error: [500, "api_error"],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface AppErrorExtra {
  cause?: unknown;
  /** The request field at fault, as OpenAI's `param`. */
  param?: string | null;
  headers?: Record<string, string>;
  /** Extra fields merged into the `error` object (e.g. `limit_source`). Never secrets. */
  details?: Record<string, unknown>;
  /** Override the table status (e.g. upstream 4xx passed through). */
  status?: number;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly extra: AppErrorExtra;
  constructor(code: ErrorCode, message: string, extra: AppErrorExtra = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "AppError";
    this.code = code;
    this.extra = extra;
  }
  get status(): number {
    return this.extra.status ?? ERROR_TABLE[this.code][0];
  }
  get type(): string {
    return ERROR_TABLE[this.code][1];
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
