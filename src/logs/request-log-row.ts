import type { requestLogs } from "../db/schema/index.js";

/** One request_logs row as the writer inserts it and the journal keeps it (own module: both import it). */
export type RequestLogRow = typeof requestLogs.$inferInsert;
