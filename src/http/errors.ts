import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, isAppError } from "../core/errors.js";
import { secrets } from "../core/secret-scrubber.js";
import { DATABASE_RETRY_AFTER_SEC, isDatabaseUnavailable } from "../db/availability.js";
import type { Logger } from "../core/logger.js";
import type { AppEnv } from "./context.js";

/**
 * The only place that writes error bodies: OpenAI's shape `{error:{message,type,code,param}}`
 * plus the request id, with `x-request-id`. Unknown errors become a bare 500 (logged with cause).
 */
export function toAppError(err: unknown): AppError {
  // The database down, restarting or paused past its timeouts: a 503 the client may retry, not a 500.
  if ((!isAppError(err) || err.code === "internal_error") && isDatabaseUnavailable(err)) {
    return new AppError("service_unavailable", "The service is temporarily unavailable; retry shortly", {
      headers: { "retry-after": String(DATABASE_RETRY_AFTER_SEC) },
      cause: err,
    });
  }
  if (isAppError(err)) return err;
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 413) return new AppError("payload_too_large", "Request body is too large");
    if (status === 400) return new AppError("invalid_json", err.message || "Malformed JSON in request body");
    if (status === 401) return new AppError("invalid_api_key", err.message || "Unauthorized");
    if (status === 404) return new AppError("not_found", err.message || "Not found");
    return new AppError(status >= 500 ? "internal_error" : "invalid_request", err.message || "Request failed", { status });
  }
  if (err instanceof SyntaxError) return new AppError("invalid_json", "Malformed JSON in request body");
  return new AppError("internal_error", "Internal server error", { cause: err });
}

export function errorBody(e: AppError, requestId: string | undefined) {
  // Messages and details may quote an upstream's answer: no configured secret leaves in them.
  return {
    error: {
      message: secrets.scrub(e.message),
      type: e.type,
      code: e.code,
      param: e.extra.param ?? null,
      ...(e.extra.details ? secrets.scrubValue(e.extra.details) : {}),
      request_id: requestId ?? null,
    },
  };
}

/** An error as it goes on the wire: status, JSON body text, headers (content type, x-request-id, Retry-After …). */
export interface ErrorReply {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** The error it was made from (metrics, telemetry and the refusal trail read its code). */
  error: AppError;
}

/**
 * The one writer of error bodies, for Hono's onError and the inference front alike (so both paths
 * answer the same bad input with the same bytes). Logs 5xx with their cause.
 */
export function errorReply(err: unknown, requestId: string | undefined, log: Logger | undefined): ErrorReply {
  const e = toAppError(err);
  if (e.status >= 500) {
    const cause = e.extra.cause ?? (isAppError(err) ? undefined : err);
    log?.error({ requestId, code: e.code, err: cause instanceof Error ? { message: cause.message, name: cause.name, stack: cause.stack } : cause }, "request failed");
  }
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (requestId) headers["x-request-id"] = requestId;
  for (const [k, v] of Object.entries(e.extra.headers ?? {})) headers[k.toLowerCase()] = v;
  return { status: e.status, body: JSON.stringify(errorBody(e, requestId)), headers, error: e };
}

export function onError(err: unknown, c: Context<AppEnv>): Response {
  const r = errorReply(err, c.get("requestId"), c.get("logger"));
  return c.body(r.body, r.status as 400, r.headers);
}

export function notFound(c: Context<AppEnv>): Response {
  return onError(new AppError("not_found", `No route for ${c.req.method} ${c.req.path}`), c);
}
