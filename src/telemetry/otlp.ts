import { randomBytes } from "node:crypto";
import type { Logger } from "../core/logger.js";
import { BatchSender } from "./batch-sender.js";
import { loggedTries, type RequestLogRow } from "../logs/request-log-row.js";
import { timesOf, traceIdOf } from "./row.js";

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean } | { doubleValue: number };
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status: { code: number; message?: string };
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_OK = 1;
const STATUS_ERROR = 2;

function attr(key: string, v: string | number | boolean | null | undefined): KeyValue | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return { key, value: { boolValue: v } };
  if (typeof v === "number") return { key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } };
  return { key, value: { stringValue: v } };
}
const attrs = (...kv: Array<KeyValue | null>) => kv.filter((x): x is KeyValue => x !== null);
const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;
const spanId = () => randomBytes(8).toString("hex");

/**
 * OpenTelemetry traces over OTLP/HTTP with the JSON encoding (POST <endpoint>/v1/traces). One
 * server span per metered request, with one client span per upstream try (provider, model,
 * outcome), built from the finished request-log row; GenAI semantic-convention attribute names.
 */
export class OtlpTraceExporter {
  private readonly sender: BatchSender<OtlpSpan>;

  constructor(opts: { endpoint: string; headers: Record<string, string>; serviceName: string; logger: Logger }) {
    const url = `${opts.endpoint.replace(/\/$/, "")}/v1/traces`;
    const resource = { attributes: attrs(attr("service.name", opts.serviceName), attr("service.version", "0.1.0")) };
    this.sender = new BatchSender(
      "otlp",
      (spans) =>
        fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...opts.headers },
          body: JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: "llm-gateway", version: "0.1.0" }, spans }] }] }),
        }),
      opts.logger,
    );
  }

  requestFinished(row: RequestLogRow): void {
    const { start, end } = timesOf(row);
    const traceId = traceIdOf(row.id);
    const root = spanId();
    const failed = row.status === "failed";
    this.sender.push({
      traceId,
      spanId: root,
      name: `gateway ${row.endpoint}`,
      kind: SPAN_KIND_SERVER,
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(end),
      attributes: attrs(
        attr("gateway.request_id", row.id),
        attr("gateway.endpoint", row.endpoint),
        attr("gateway.status", row.status ?? null),
        attr("gateway.error_code", row.errorCode ?? null),
        attr("gateway.cache_hit", row.cacheHit ?? false),
        attr("gen_ai.request.model", row.requestedModel ?? null),
        attr("gen_ai.response.model", row.servedModel ?? null),
        attr("gen_ai.system", row.providerId ?? null),
        attr("gen_ai.usage.input_tokens", row.promptTokens ?? null),
        attr("gen_ai.usage.output_tokens", row.completionTokens ?? null),
        attr("gateway.stream", row.stream ?? false),
        attr("gateway.ttft_ms", row.ttftMs ?? null),
      ),
      status: failed ? { code: STATUS_ERROR, message: row.errorCode ?? "failed" } : { code: STATUS_OK },
    });
    // Tries ran one after another from the start of the request; their durations are recorded.
    let at = start;
    const tries = loggedTries(row) ?? [];
    const list = tries.length ? tries : row.providerId ? [{ providerId: row.providerId, upstreamModel: row.servedModel ?? undefined, outcome: failed ? (row.errorCode ?? "failed") : "ok", ms: end - start }] : [];
    for (const t of list) {
      const ms = Math.max(0, Math.min(t.ms ?? 0, end - at));
      this.sender.push({
        traceId,
        spanId: spanId(),
        parentSpanId: root,
        name: `upstream ${t.providerId ?? "unknown"}`,
        kind: SPAN_KIND_CLIENT,
        startTimeUnixNano: nanos(at),
        endTimeUnixNano: nanos(at + ms),
        attributes: attrs(attr("gen_ai.system", t.providerId ?? null), attr("gen_ai.request.model", t.upstreamModel ?? null), attr("gateway.try_outcome", t.outcome ?? null)),
        status: t.outcome === "ok" ? { code: STATUS_OK } : { code: STATUS_ERROR, message: t.outcome },
      });
      at += ms;
    }
  }

  flush(): Promise<void> {
    return this.sender.flush();
  }
}

/** `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values URL-encoded as the OTel spec allows). */
export function parseOtlpHeaders(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (raw ?? "").split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}
