import type { LoggedEndpoint, ServedBy, SettleResult, TokenUsage } from "../contracts/request.js";
import type { RequestLogRow, RequestLogWriter } from "../logs/request-log-writer.js";

/** What a request's log row says from the start (the `pending` row) and keeps saying. */
export interface LogBase {
  id: string;
  accountId: string;
  apiKeyId: string;
  /** The logged endpoint of a metered request; the path of a request refused before it was metered. */
  endpoint: LoggedEndpoint | string;
  /** Null when the request was refused before its model was read. */
  requestedModel: string | null;
  stream: boolean;
  startedAt: number;
  /** Fixed facts of the request (a pass-through path, a cache hit's price). */
  meta?: Record<string, unknown>;
}

export type RequestStatus = "completed" | "cancelled" | "failed";

/** How the request ended. */
export interface LogOutcome {
  status: RequestStatus;
  served: ServedBy | null;
  usage: TokenUsage | null;
  settled: SettleResult | null;
  completedAt: number;
  ttftMs?: number | null;
  upstreamStatus?: number | null;
  errorCode?: string | null;
  attempts: number;
  cacheHit?: boolean;
  /** Refused before any upstream call: the row says 0 charged, not unknown. */
  refused?: boolean;
  /** Why the upstream's usage was not believed as reported (see usage-check.ts). */
  usageAnomaly?: string | null;
  /** Extra facts learnt on the way (billing errors, fallback tries). */
  meta?: Record<string, unknown>;
}

export function pendingRow(b: LogBase): RequestLogRow {
  return {
    id: b.id,
    accountId: b.accountId,
    apiKeyId: b.apiKeyId,
    endpoint: b.endpoint,
    requestedModel: b.requestedModel,
    // The log writer completes rows without touching `stream`: it is said up front.
    stream: b.stream,
    status: "pending",
    ...(b.meta ? { meta: b.meta } : {}),
    createdAt: new Date(b.startedAt),
  };
}

/** The one builder of a final request-log row. */
function finalRow(b: LogBase, o: LogOutcome): RequestLogRow {
  const u = o.usage;
  const s = o.settled;
  // A cache hit costs the upstream nothing, also when the client pays nothing for it; a refusal costs nobody anything.
  const noCharge = o.cacheHit || o.refused ? 0n : null;
  let meta = b.meta || o.meta ? { ...b.meta, ...o.meta } : null;
  // Cache writes have no column of their own (only Anthropic reports them): kept with the row's details.
  if (u?.cacheWriteTokens) meta = { ...meta, cache_write_tokens: u.cacheWriteTokens };
  return {
    id: b.id,
    accountId: b.accountId,
    apiKeyId: b.apiKeyId,
    endpoint: b.endpoint,
    requestedModel: b.requestedModel,
    servedModel: o.served?.upstreamModel || null,
    providerId: o.served?.providerId ?? null,
    upstreamAccountId: o.served?.upstreamAccountId ?? null,
    stream: b.stream,
    status: o.status,
    promptTokens: u?.promptTokens ?? null,
    completionTokens: u?.completionTokens ?? null,
    cachedTokens: u?.cachedTokens ?? null,
    reasoningTokens: u?.reasoningTokens ?? null,
    totalTokens: u?.totalTokens ?? null,
    estimated: u?.estimated ?? false,
    latencyMs: o.completedAt - b.startedAt,
    ttftMs: o.ttftMs ?? null,
    upstreamStatus: o.upstreamStatus ?? null,
    errorCode: o.errorCode ?? null,
    usageAnomaly: o.usageAnomaly ?? null,
    upstreamCostMicros: s?.upstreamCostMicros ?? noCharge,
    priceMicros: s?.priceMicros ?? noCharge,
    profitMicros: s ? s.priceMicros - s.upstreamCostMicros : noCharge,
    cacheHit: o.cacheHit ?? false,
    attempts: o.attempts,
    meta,
    createdAt: new Date(b.startedAt),
    completedAt: new Date(o.completedAt),
  };
}

/**
 * Writes a request's final row. The one caller of the writer's `finish`: a metered request's end
 * and a refusal before metering both come here, so every final row is built by `finalRow`.
 */
export function finishLog(logs: Pick<RequestLogWriter, "finish">, b: LogBase, o: LogOutcome): void {
  logs.finish(finalRow(b, o));
}

interface Refusal {
  requestId: string;
  accountId: string;
  apiKeyId: string;
  /** The request path (the request never got as far as a logged endpoint). */
  path: string;
  errorCode: string;
  startedAt: number;
  refusedAt: number;
}

/** A request refused by authentication, limits or balance before reaching an upstream: a `failed` row, never billed. */
export function logRefusal(logs: Pick<RequestLogWriter, "finish">, r: Refusal): void {
  finishLog(
    logs,
    { id: r.requestId, accountId: r.accountId, apiKeyId: r.apiKeyId, endpoint: r.path, requestedModel: null, stream: false, startedAt: r.startedAt, meta: { refused: true } },
    { status: "failed", served: null, usage: null, settled: null, completedAt: r.refusedAt, upstreamStatus: null, errorCode: r.errorCode, attempts: 0, refused: true },
  );
}
