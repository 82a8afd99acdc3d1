import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, isAppError } from "../core/errors.js";
import { secrets } from "../core/secret-scrubber.js";
import type { AppEnv } from "./context.js";

/**
 * The only place that writes error bodies: OpenAI's shape `{error:{message,type,code,param}}`
 * plus the request id, with `x-request-id`. Unknown errors become a bare 500 (logged with cause).
 */
export function toAppError(err: unknown): AppError {
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

export function onError(err: unknown, c: Context<AppEnv>): Response {
  const e = toAppError(err);
  const requestId = c.get("requestId");
  const log = c.get("logger");
  if (e.status >= 500) {
    const cause = e.extra.cause ?? (isAppError(err) ? undefined : err);
    log?.error({ requestId, code: e.code, err: cause instanceof Error ? { message: cause.message, name: cause.name, stack: cause.stack } : cause }, "request failed");
  }
  const res = c.json(errorBody(e, requestId), e.status as 400);
  if (requestId) res.headers.set("x-request-id", requestId);
  for (const [k, v] of Object.entries(e.extra.headers ?? {})) res.headers.set(k, v);
  return res;
}

export function notFound(c: Context<AppEnv>): Response {
  return onError(new AppError("not_found", `No route for ${c.req.method} ${c.req.path}`), c);
}
