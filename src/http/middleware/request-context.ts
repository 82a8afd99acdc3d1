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
      recordRequest(deps, { requestId: id, route: () => c.req.routePath, method: c.req.method, status: c.res.status, error: c.error, startedAt: started });
    }
  };
}

/** What the end of a request tells metrics and telemetry. */
export interface RequestOutcome {
  requestId: string;
  /** The route's pattern as Hono names it (the metrics label); asked only when something records it. */
  route: () => string;
  method: string;
  status: number;
  error: unknown;
  startedAt: number;
}

/**
 * Metrics and error capture at the end of a request, for this middleware and the inference front
 * (src/http/inference-front.ts) alike.
 */
export function recordRequest(deps: Pick<AppDeps, "metrics" | "telemetry" | "clock">, o: RequestOutcome): void {
  // Unexpected errors only (a 502 from an upstream is not a bug of ours).
  const capture = deps.telemetry?.captureError;
  const err = o.error;
  if (capture && err && o.status >= 500 && (!isAppError(err) || err.code === "internal_error")) {
    const cause = isAppError(err) ? (err.extra.cause ?? err) : err;
    capture(cause, { requestId: o.requestId, route: o.route(), method: o.method });
  }
  if (deps.metrics) {
    const route = o.route() || "unknown";
    deps.metrics.set.httpRequests.inc({ route, status: String(o.status) });
    deps.metrics.set.httpLatency.observe({ route }, (deps.clock.now() - o.startedAt) / 1000);
    // Refusals (balance, quotas, access, rate limits) by code and the limit that refused.
    if ((o.status === 402 || o.status === 403 || o.status === 429) && isAppError(err)) {
      const scope = err.extra.details?.limit_source;
      deps.metrics.refused(o.status, err.code, typeof scope === "string" ? scope : null);
    }
  }
}
