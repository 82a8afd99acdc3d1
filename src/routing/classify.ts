import { AppError } from "../core/errors.js";

/**
 * What went wrong with one upstream attempt, before any byte reached the client. Transport kinds
 * match the pipeline's UpstreamFailure kinds (src/proxy/upstream.ts).
 */
export type AttemptFailure =
  | { kind: "connect" | "network" | "timeout_connect" | "timeout_first_byte" | "timeout_idle" | "timeout_total" | "aborted" }
  | { kind: "http"; status: number; body?: string; retryAfter?: string | null };

export type FailureReason =
  | "connect_error"
  | "timeout"
  | "rate_limited"
  | "server_error"
  | "model_unavailable"
  | "context_length"
  | "upstream_auth"
  | "client_error"
  | "client_gone";

export interface FailureClass {
  reason: FailureReason;
  /** Another route/upstream account may serve it: go on with the next attempt. */
  retryable: boolean;
  /** Worth trying the same upstream again after a backoff (transient on that upstream). */
  sameUpstream: boolean;
  /** Counts against the upstream's circuit breaker (the upstream, not the request, is at fault). */
  breakerFailure: boolean;
  /** Upstream's Retry-After in ms, when it sent one. */
  retryAfterMs: number | null;
  /** What the client sees if this is the last attempt. */
  error: AppError;
}

interface UpstreamErrorInfo {
  message: string;
  code: string;
  type: string;
}

/** Pull message/code/type out of an OpenAI- or OpenRouter-shaped error body (or plain text). */
export function parseUpstreamError(body: string | undefined): UpstreamErrorInfo {
  if (!body) return { message: "", code: "", type: "" };
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown };
    const e = (typeof j.error === "object" && j.error !== null ? j.error : j) as Record<string, unknown>;
    const message = typeof e.message === "string" ? e.message : typeof j.error === "string" ? j.error : typeof j.detail === "string" ? j.detail : "";
    return {
      message,
      code: e.code === undefined || e.code === null ? "" : String(e.code),
      type: typeof e.type === "string" ? e.type : "",
    };
  } catch {
    return { message: body.slice(0, 500), code: "", type: "" };
  }
}

const CONTEXT_RE = /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long|reduce the length|maximum.*tokens.*exceed/i;
const MODEL_RE = /no endpoints found|no allowed providers|model[^.]{0,120}?(does not exist|not found|not available|unavailable|not supported|is not a valid|is currently overloaded|decommissioned|deprecated)|(unknown|invalid) model|model_not_found|model_not_available/i;

/** Retry-After as seconds or an HTTP date → ms (capped at 1 h), null when absent or junk. */
export function parseRetryAfter(v: string | null | undefined, now = Date.now()): number | null {
  if (!v) return null;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.min(Math.round(Number(s) * 1000), 3_600_000);
  const t = Date.parse(s);
  if (Number.isNaN(t)) return null;
  return Math.min(Math.max(0, t - now), 3_600_000);
}

/**
 * The retry/fallback decision for one failed attempt. Rules:
 * - connect errors, timeouts, 408, 429, 5xx: the upstream's fault → next route, breaker failure.
 * - "model unavailable" (404/400 with such a message) and context-length errors: another route may
 *   serve it → next route, but the upstream itself is healthy (no breaker failure).
 * - 401/402/403 from the upstream are about OUR upstream credentials or credit, never the client's:
 *   next route/account, breaker failure, and the client sees 503 (never its own 401/402).
 * - any other 4xx is the client's request: no retry, passed through with the upstream status.
 */
export function classifyFailure(f: AttemptFailure, now = Date.now()): FailureClass {
  const base = { retryAfterMs: null as number | null };
  switch (f.kind) {
    case "aborted":
      return {
        ...base,
        reason: "client_gone",
        retryable: false,
        sameUpstream: false,
        breakerFailure: false,
        error: new AppError("upstream_error", "request aborted", { status: 499 }),
      };
    case "connect":
    case "network":
      return {
        ...base,
        reason: "connect_error",
        retryable: true,
        sameUpstream: true,
        breakerFailure: true,
        error:
          f.kind === "connect"
            ? new AppError("upstream_unavailable", "The upstream provider is unreachable", { status: 502 })
            : new AppError("upstream_error", "The upstream provider connection failed"),
      };
    case "timeout_connect":
    case "timeout_first_byte":
    case "timeout_idle":
    case "timeout_total":
      return {
        ...base,
        reason: "timeout",
        retryable: true,
        // A slow upstream is likely still slow: go to the next route, don't wait on it again.
        sameUpstream: false,
        breakerFailure: true,
        error: new AppError("upstream_timeout", timeoutMessage(f.kind), { details: { timeout: f.kind.slice("timeout_".length) } }),
      };
    case "http":
      return classifyHttp(f.status, f.body, f.retryAfter ?? null, now);
  }
}

function timeoutMessage(kind: string): string {
  switch (kind) {
    case "timeout_connect":
      return "Timed out connecting to the upstream provider";
    case "timeout_first_byte":
      return "The upstream provider did not start answering in time";
    case "timeout_idle":
      return "The upstream provider stopped sending data";
    default:
      return "The upstream provider did not finish in time";
  }
}

function classifyHttp(status: number, body: string | undefined, retryAfter: string | null, now: number): FailureClass {
  const info = parseUpstreamError(body);
  const retryAfterMs = parseRetryAfter(retryAfter, now);
  const text = `${info.code} ${info.type} ${info.message}`;
  const upstreamMsg = sanitizeUpstreamMessage(info.message);
  if (status === 429) {
    return {
      reason: "rate_limited",
      retryable: true,
      sameUpstream: true,
      breakerFailure: true,
      retryAfterMs,
      error: new AppError("upstream_rate_limited", "The upstream provider is rate limiting requests; retry later", {
        headers: retryAfterMs !== null ? { "retry-after": String(Math.ceil(retryAfterMs / 1000)) } : undefined,
      }),
    };
  }
  if (status >= 500 || status === 408) {
    if (MODEL_RE.test(text) && !/overloaded/i.test(text)) return modelUnavailable(upstreamMsg, retryAfterMs);
    return {
      reason: "server_error",
      retryable: true,
      sameUpstream: true,
      breakerFailure: true,
      retryAfterMs,
      // The upstream's own message is not shown: 5xx texts carry stack traces and internal paths.
      error:
        status === 504 || status === 408
          ? new AppError("upstream_timeout", "The upstream provider timed out", { details: { upstream_status: status } })
          : new AppError("upstream_error", `The upstream provider returned HTTP ${status}`, { details: { upstream_status: status } }),
    };
  }
  if (status === 401 || status === 402 || status === 403) {
    // Our master key is wrong, revoked or out of credit. The client did nothing wrong.
    return {
      reason: "upstream_auth",
      retryable: true,
      sameUpstream: false,
      breakerFailure: true,
      retryAfterMs,
      error: new AppError("upstream_error", "The upstream provider rejected the gateway's credentials", { status: 502, details: { upstream_status: status } }),
    };
  }
  if (CONTEXT_RE.test(text) || info.code === "context_length_exceeded") {
    return {
      reason: "context_length",
      retryable: true,
      sameUpstream: false,
      breakerFailure: false,
      retryAfterMs,
      error: new AppError("context_length_exceeded", upstreamMsg || "The request exceeds the model's context length", { param: "messages" }),
    };
  }
  if ((status === 404 || status === 400 || status === 422) && MODEL_RE.test(text)) return modelUnavailable(upstreamMsg, retryAfterMs);
  return {
    reason: "client_error",
    retryable: false,
    sameUpstream: false,
    breakerFailure: false,
    retryAfterMs,
    error:
      status === 413
        ? new AppError("payload_too_large", upstreamMsg || "Request too large for the upstream provider")
        : status === 404
          ? new AppError("not_found", upstreamMsg || "The upstream provider does not know this resource")
          : new AppError("invalid_request", upstreamMsg || "The upstream provider rejected the request", {
              status: status >= 400 && status < 500 ? status : 400,
              details: info.code ? { upstream_code: info.code } : undefined,
            }),
  };
}

/** Upstream messages can echo credentials or internal URLs: keep them short and scrub key-like tokens. */
export function sanitizeUpstreamMessage(m: string): string {
  return m
    .replace(/(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, "[redacted]")
    // Google API keys, and keys passed as query parameters (`?key=…`, `api_key=…`).
    .replace(/AIza[0-9A-Za-z_-]{20,}/g, "[redacted]")
    .replace(/\b(key|api_key|apikey|access_token|token)=[^&\s"']+/gi, "$1=[redacted]")
    .replace(/Bearer\s+\S+/gi, "Bearer [redacted]")
    .slice(0, 500);
}

function modelUnavailable(message: string, retryAfterMs: number | null): FailureClass {
  return {
    reason: "model_unavailable",
    retryable: true,
    sameUpstream: false,
    breakerFailure: false,
    retryAfterMs,
    error: new AppError("model_not_found", message || "The model is not available on the upstream provider"),
  };
}

/**
 * When every attempt failed, which error the client sees: a client-side problem that every route
 * reported (context length) wins over transient ones; otherwise the last attempt's error.
 */
export function finalError(failures: readonly FailureClass[]): AppError {
  if (failures.length === 0) return new AppError("upstream_unavailable", "no upstream route is available for this model");
  if (failures.every((f) => f.reason === "context_length")) return failures[failures.length - 1]!.error;
  const last = failures[failures.length - 1]!;
  if (last.reason === "context_length" || last.reason === "model_unavailable") {
    const transient = [...failures].reverse().find((f) => f.reason !== "context_length" && f.reason !== "model_unavailable");
    if (transient) return transient.error;
  }
  return last.error;
}
