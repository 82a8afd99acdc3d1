import { randomUUID } from "node:crypto";
import type { Logger } from "../core/logger.js";
import { BatchSender } from "./batch-sender.js";
import type { RequestLogRow } from "../logs/request-log-row.js";
import { timesOf, traceIdOf } from "./row.js";

interface IngestionEvent {
  id: string;
  type: "trace-create" | "generation-create";
  timestamp: string;
  body: Record<string, unknown>;
}

/**
 * Langfuse export of generations through its public ingestion API (POST /api/public/ingestion,
 * basic auth with the project's public and secret key): one trace and one generation per metered
 * request, with model, token usage, cost and latency. Prompt and completion text are not exported:
 * the gateway does not keep them, and shipping customers' conversations elsewhere is a decision
 * for the operator's own application.
 */
export class LangfuseExporter {
  private readonly sender: BatchSender<IngestionEvent>;

  constructor(opts: { baseUrl: string; publicKey: string; secretKey: string; currency: string; logger: Logger }) {
    const url = `${opts.baseUrl.replace(/\/$/, "")}/api/public/ingestion`;
    const auth = `Basic ${Buffer.from(`${opts.publicKey}:${opts.secretKey}`).toString("base64")}`;
    this.currency = opts.currency;
    this.sender = new BatchSender("langfuse", (batch) => fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify({ batch }) }), opts.logger);
  }
  private readonly currency: string;

  requestFinished(row: RequestLogRow): void {
    const { start, end } = timesOf(row);
    const traceId = traceIdOf(row.id);
    const now = new Date().toISOString();
    const meta = {
      request_id: row.id,
      endpoint: row.endpoint,
      provider: row.providerId ?? null,
      status: row.status ?? null,
      error_code: row.errorCode ?? null,
      cache_hit: row.cacheHit ?? false,
      price: row.priceMicros != null ? Number(row.priceMicros) / 1e6 : null,
      upstream_cost: row.upstreamCostMicros != null ? Number(row.upstreamCostMicros) / 1e6 : null,
      currency: this.currency,
    };
    this.sender.push({ id: randomUUID(), type: "trace-create", timestamp: now, body: { id: traceId, name: row.endpoint, timestamp: new Date(start).toISOString(), metadata: meta } });
    this.sender.push({
      id: randomUUID(),
      type: "generation-create",
      timestamp: now,
      body: {
        id: row.id,
        traceId,
        name: row.endpoint,
        startTime: new Date(start).toISOString(),
        endTime: new Date(end).toISOString(),
        ...(row.ttftMs != null ? { completionStartTime: new Date(start + row.ttftMs).toISOString() } : {}),
        model: row.servedModel ?? row.requestedModel ?? null,
        usage: { input: row.promptTokens ?? 0, output: row.completionTokens ?? 0, total: row.totalTokens ?? (row.promptTokens ?? 0) + (row.completionTokens ?? 0), unit: "TOKENS" },
        level: row.status === "failed" ? "ERROR" : "DEFAULT",
        ...(row.errorCode ? { statusMessage: row.errorCode } : {}),
        metadata: meta,
      },
    });
  }

  flush(): Promise<void> {
    return this.sender.flush();
  }
}
