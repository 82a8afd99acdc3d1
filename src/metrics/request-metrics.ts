import { loggedTries, type RequestLogRow } from "../logs/request-log-row.js";
import type { MetricSet } from "./registry.js";
import { BoundedLabel } from "./labels.js";

const MICROS = 1_000_000;

/**
 * Per-request metrics, derived from the one finished request-log row: whatever path a request took
 * (stream, non-stream, cache hit, pass-through, failure), the row is the single record of it, so the
 * counters agree with the database by construction.
 */
export class RequestMetrics {
  private readonly model = new BoundedLabel(200);
  private readonly provider = new BoundedLabel(100);
  private readonly endpoint = new BoundedLabel(50);
  private readonly code = new BoundedLabel(100);

  constructor(
    private readonly m: MetricSet,
    private readonly currency: string,
  ) {
    // Exported from the start (at 0) so dashboards and alerts see the series before the first loss.
    m.loss.inc({ currency }, 0);
  }

  observe(row: RequestLogRow): void {
    const m = this.m;
    const endpoint = this.endpoint.value(row.endpoint);
    const provider = this.provider.value(row.providerId);
    // The model the client asked for: what an operator sells and what the catalog prices.
    const model = this.model.value(row.requestedModel ?? row.servedModel);
    const status = row.status ?? "unknown";
    m.requests.inc({ endpoint, model, provider, status, code: row.errorCode ? this.code.value(row.errorCode) : "" });
    if (row.latencyMs != null) m.requestDuration.observe({ endpoint, provider, stream: row.stream ? "true" : "false" }, row.latencyMs / 1000);
    if (row.ttftMs != null) m.ttft.observe({ provider, model }, row.ttftMs / 1000);
    if (row.promptTokens) m.tokens.inc({ direction: "in", model, provider }, row.promptTokens);
    if (row.completionTokens) m.tokens.inc({ direction: "out", model, provider }, row.completionTokens);
    if (row.estimated) m.estimated.inc({ provider });
    if (row.usageAnomaly) m.usageAnomalies.inc({ provider, reason: row.usageAnomaly });
    if (row.cacheHit) m.cacheHits.inc();

    const money = { currency: this.currency, provider, model };
    const price = row.priceMicros ?? 0n;
    const cost = row.upstreamCostMicros ?? 0n;
    if (price > 0n) m.revenue.inc(money, Number(price) / MICROS);
    if (cost > 0n) m.upstreamCost.inc(money, Number(cost) / MICROS);
    const profit = price - cost;
    if (profit > 0n) m.profit.inc(money, Number(profit) / MICROS);
    else if (profit < 0n && price > 0n) m.loss.inc({ currency: this.currency }, Number(-profit) / MICROS);

    // Tries: every failed one is an upstream error of its kind; a different final provider is a fallback.
    const tries = loggedTries(row);
    if (tries) {
      for (const t of tries) {
        if (t.outcome && t.outcome !== "ok") m.upstreamErrors.inc({ provider: this.provider.value(t.providerId), kind: t.outcome });
      }
      const first = tries[0]?.providerId;
      if (tries.length > 1) m.retries.inc({ provider: this.provider.value(first) }, tries.length - 1);
      if (first && row.providerId && first !== row.providerId && status === "completed") {
        m.fallbacks.inc({ from_provider: this.provider.value(first), to_provider: provider });
      }
    } else if (status === "failed" && row.errorCode && row.errorCode.startsWith("upstream")) {
      // A single failed try: its kind from the error code and the upstream status.
      m.upstreamErrors.inc({ provider, kind: upstreamKind(row.errorCode, row.upstreamStatus) });
    }
  }
}

function upstreamKind(code: string, status: number | null | undefined): string {
  if (code === "upstream_timeout") return "timeout";
  if (status == null) return "connect";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server_error";
  return `http_${Math.floor(status / 100)}xx`;
}
