import type { RequestLogRow } from "../logs/request-log-row.js";

/** A finished row's span: from its creation to its completion (or now, or back by its latency). */
export function timesOf(row: RequestLogRow): { start: number; end: number } {
  const end = row.completedAt ? row.completedAt.getTime() : Date.now();
  const start = row.createdAt ? row.createdAt.getTime() : end - (row.latencyMs ?? 0);
  return { start, end: Math.max(start, end) };
}

/** Request ids are `req_` + 32 hex: the hex is a ready W3C trace id, so traces and logs join on it. */
export function traceIdOf(requestId: string): string {
  const hex = requestId.replace(/^req_/, "").replace(/[^0-9a-f]/g, "");
  return (hex + "0".repeat(32)).slice(0, 32);
}
