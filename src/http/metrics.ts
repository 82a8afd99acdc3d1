import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  registry: Registry;
  requests: Counter<"route" | "status">;
  latency: Histogram<"route">;
  /** Upstream usage reports the gateway did not believe as given (see proxy/usage-check.ts). */
  usageAnomalies: Counter<"reason">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({ name: "gateway_http_requests_total", help: "HTTP requests by route and status", labelNames: ["route", "status"], registers: [registry] }),
    latency: new Histogram({
      name: "gateway_http_request_duration_seconds",
      help: "Time to response headers by route",
      labelNames: ["route"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    usageAnomalies: new Counter({
      name: "gateway_usage_anomalies_total",
      help: "Upstream usage reports corrected before billing (above what the request could produce, negative, under what was delivered, priced above the hold)",
      labelNames: ["reason"],
      registers: [registry],
    }),
  };
}
