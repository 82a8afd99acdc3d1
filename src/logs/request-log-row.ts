import type { requestLogs } from "../db/schema/index.js";

/** One request_logs row as the writer inserts it and the journal keeps it (own module: both import it). */
export type RequestLogRow = typeof requestLogs.$inferInsert;

/**
 * One upstream try as a final row keeps it in `meta.tries` (routing writes them), read back loosely:
 * a row from the journal or an older process may lack any field.
 */
export interface LoggedTry {
  providerId?: string;
  upstreamModel?: string;
  outcome?: string;
  ms?: number;
}

/** The tries a final row recorded; null when it kept none (metrics and traces both read them). */
export function loggedTries(row: Pick<RequestLogRow, "meta">): LoggedTry[] | null {
  const tries = row.meta?.tries;
  return Array.isArray(tries) ? (tries as LoggedTry[]) : null;
}
