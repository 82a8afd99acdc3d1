import type { MiddlewareHandler } from "hono";
import { isAppError } from "../../core/errors.js";
import { newRequestId } from "../../core/ids.js";
import type { AppEnv } from "../context.js";
import { clientIpResolver } from "../client-ip.js";
import type { AppDeps } from "../deps.js";

/**
 * First middleware: request id (`req_…`, echoed as x-request-id), start time, logger, in-flight
 * counting for graceful shutdown, and metrics. A child logger is created lazily by whoever logs:
 * most requests never log.
 */
export function requestContext(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const resolveClientIp = clientIpResolver(deps.settings.trustedProxies);
  return async (c, next) => {
    const id = newRequestId();
    if (resolveClientIp) resolveClientIp(c);
    const started = deps.clock.now();
    c.set("requestId", id);
    c.set("startedAt", started);
    c.set("logger", deps.logger);
    deps.inflight.count++;
    try {
      await next();
    } finally {
      deps.inflight.count--;
      if (!c.get("requestIdSent")) c.res.headers.set("x-request-id", id);
      // Unexpected errors only (a 502 from an upstream is not a bug of ours).
      const capture = deps.telemetry?.captureError;
      if (capture && c.error && c.res.status >= 500 && (!isAppError(c.error) || c.error.code === "internal_error")) {
        const cause = isAppError(c.error) ? (c.error.extra.cause ?? c.error) : c.error;
        capture(cause, { requestId: id, route: c.req.routePath, method: c.req.method });
      }
      if (deps.metrics) {
        const route = c.req.routePath || "unknown";
        const status = c.res.status;
        deps.metrics.set.httpRequests.inc({ route, status: String(status) });
        deps.metrics.set.httpLatency.observe({ route }, (deps.clock.now() - started) / 1000);
        // Refusals (balance, quotas, access, rate limits) by code and the limit that refused.
        if ((status === 402 || status === 403 || status === 429) && isAppError(c.error)) {
          const scope = c.error.extra.details?.limit_source;
          deps.metrics.refused(status, c.error.code, typeof scope === "string" ? scope : null);
        }
      }
    }
  };
}
