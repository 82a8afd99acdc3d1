import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Every metric the gateway exports. Names are a contract with deploy/grafana and deploy/prometheus
 * (a test scrapes a real Prometheus and queries each expression the dashboard uses). No label ever
 * carries a key, account or user id; model names pass through a bounded label.
 */
export function createRegistry() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "gateway_process_" });
  const r = [registry];
  const DURATION = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  return {
    registry,
    // HTTP layer (every route, including admin and system).
    httpRequests: new Counter({ name: "gateway_http_requests_total", help: "HTTP requests by route and status", labelNames: ["route", "status"], registers: r }),
    httpLatency: new Histogram({ name: "gateway_http_request_duration_seconds", help: "Time to response headers by route", labelNames: ["route"], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30], registers: r }),
    refusals: new Counter({
      name: "gateway_refusals_total",
      help: "Requests refused before reaching an upstream, by error code and limit scope (rate limits, balance, quotas, access)",
      labelNames: ["status", "code", "scope"],
      registers: r,
    }),
    // Metered requests, from the one finished request-log row.
    requests: new Counter({ name: "gateway_requests_total", help: "Metered requests by endpoint, model, provider, outcome and error code", labelNames: ["endpoint", "model", "provider", "status", "code"], registers: r }),
    requestDuration: new Histogram({ name: "gateway_request_duration_seconds", help: "Whole request time (to the last byte) by endpoint and provider", labelNames: ["endpoint", "provider", "stream"], buckets: DURATION, registers: r }),
    ttft: new Histogram({ name: "gateway_time_to_first_token_seconds", help: "Time to the first streamed token by provider and model", labelNames: ["provider", "model"], buckets: DURATION, registers: r }),
    tokens: new Counter({ name: "gateway_tokens_total", help: "Tokens by direction (in = prompt, out = completion), model and provider", labelNames: ["direction", "model", "provider"], registers: r }),
    usageAnomalies: new Counter({
      name: "gateway_usage_anomalies_total",
      help: "Upstream usage reports corrected before billing, by reason (above what the request could produce, negative, under what was delivered, priced above the hold)",
      labelNames: ["provider", "reason"],
      registers: r,
    }),
    estimated: new Counter({ name: "gateway_usage_estimated_total", help: "Requests whose usage was counted locally (no upstream usage)", labelNames: ["provider"], registers: r }),
    revenue: new Counter({ name: "gateway_revenue_total", help: "Price charged to clients, in the account currency", labelNames: ["currency", "provider", "model"], registers: r }),
    upstreamCost: new Counter({ name: "gateway_upstream_cost_total", help: "Upstream cost of served requests, in the account currency", labelNames: ["currency", "provider", "model"], registers: r }),
    profit: new Counter({ name: "gateway_profit_total", help: "Price minus upstream cost, in the account currency (negative increments are not possible: see gateway_loss_total)", labelNames: ["currency", "provider", "model"], registers: r }),
    loss: new Counter({ name: "gateway_loss_total", help: "Requests priced below their upstream cost: the shortfall, in the account currency", labelNames: ["currency"], registers: r }),
    upstreamErrors: new Counter({ name: "gateway_upstream_errors_total", help: "Failed upstream tries by provider and kind (timeout, 5xx, 429, connect, …)", labelNames: ["provider", "kind"], registers: r }),
    retries: new Counter({ name: "gateway_retries_total", help: "Extra upstream tries after the first, by provider that was retried", labelNames: ["provider"], registers: r }),
    fallbacks: new Counter({ name: "gateway_fallbacks_total", help: "Requests served by another provider than the first one tried", labelNames: ["from_provider", "to_provider"], registers: r }),
    cacheHits: new Counter({ name: "gateway_response_cache_hits_total", help: "Responses served from the response cache", registers: r }),
    // Background queues.
    logFlushDuration: new Histogram({ name: "gateway_request_log_flush_seconds", help: "Time to write one batch of request-log rows", buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: r }),
    logFlushRows: new Counter({ name: "gateway_request_log_rows_written_total", help: "Request-log rows written", registers: r }),
    logFlushFailures: new Counter({ name: "gateway_request_log_flush_failures_total", help: "Failed request-log batch writes (retried)", registers: r }),
  };
}

export type MetricSet = ReturnType<typeof createRegistry>;
