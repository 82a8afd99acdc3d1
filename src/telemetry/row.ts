/** What telemetry reads of a finished request-log row (a structural subset). */
export interface TelemetryRow {
  id: string;
  endpoint: string;
  requestedModel?: string | null;
  servedModel?: string | null;
  providerId?: string | null;
  status?: string | null;
  stream?: boolean | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  totalTokens?: number | null;
  latencyMs?: number | null;
  ttftMs?: number | null;
  upstreamStatus?: number | null;
  errorCode?: string | null;
  priceMicros?: bigint | null;
  upstreamCostMicros?: bigint | null;
  cacheHit?: boolean | null;
  createdAt?: Date | null;
  completedAt?: Date | null;
  meta?: Record<string, unknown> | null;
}

export interface TryRecordLike {
  providerId?: string;
  upstreamModel?: string;
  outcome?: string;
  ms?: number;
}

export function timesOf(row: TelemetryRow): { start: number; end: number } {
  const end = row.completedAt ? row.completedAt.getTime() : Date.now();
  const start = row.createdAt ? row.createdAt.getTime() : end - (row.latencyMs ?? 0);
  return { start, end: Math.max(start, end) };
}

export function triesOf(row: TelemetryRow): TryRecordLike[] {
  return Array.isArray(row.meta?.tries) ? (row.meta.tries as TryRecordLike[]) : [];
}

/** Request ids are `req_` + 32 hex: the hex is a ready W3C trace id, so traces and logs join on it. */
export function traceIdOf(requestId: string): string {
  const hex = requestId.replace(/^req_/, "").replace(/[^0-9a-f]/g, "");
  return (hex + "0".repeat(32)).slice(0, 32);
}
