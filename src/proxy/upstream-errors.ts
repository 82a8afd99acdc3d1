import { AppError } from "../core/errors.js";
import type { UpstreamFailure } from "./upstream.js";

/** An upstream failure after the fallback loop gave up, or mid-stream, as the client sees it. */
export function failureToError(f: UpstreamFailure, providerId: string, midStream = false): AppError {
  const where = midStream ? " mid-stream" : "";
  switch (f.kind) {
    case "timeout_connect":
    case "timeout_first_byte":
    case "timeout_total":
    case "timeout_idle":
      return new AppError("upstream_timeout", `Upstream ${providerId} timed out${where} (${f.kind.replace("timeout_", "").replace("_", " ")})`, { cause: f });
    case "connect":
      return new AppError("upstream_unavailable", `Upstream ${providerId} is unreachable`, { cause: f, status: 502 });
    default:
      return new AppError("upstream_error", `Upstream ${providerId} failed${where}`, { cause: f });
  }
}

/** The client went away before anything was sent; nobody reads this answer. */
export function clientClosed(): AppError {
  return new AppError("invalid_request", "client closed the request");
}

/**
 * The one SSE error event: once a stream has begun, a failure can only be told in-band, in
 * OpenAI's error shape, followed by the end of the stream.
 */
export function streamErrorFrame(err: AppError, requestId: string): string {
  const frame = { error: { message: err.message, type: err.type, code: err.code, param: null, request_id: requestId } };
  return `data: ${JSON.stringify(frame)}\n\n`;
}
