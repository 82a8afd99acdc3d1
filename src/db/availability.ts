/**
 * Whether an error means "the database cannot answer right now" (down, restarting, unreachable,
 * paused past a timeout, out of connections) rather than a bug or a bad statement. Such errors
 * become 503 service_unavailable with Retry-After (http/errors.ts): the client may retry, and it
 * is not a 500 that pages someone for a bug. The cause chain is followed (drizzle wraps errors).
 */
const UNAVAILABLE_CODES = new Set([
  // Node sockets
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  // PostgreSQL SQLSTATE: connection exceptions, shutdown/start-up, too many connections
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "08P01",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  // statement_timeout / lock_timeout / idle-in-transaction timeout: the server did not get to it in time
  "57014",
  "55P03",
  "25P03",
]);

const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|connection terminated|query read timeout|connection timeout|not queryable|server closed the connection|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

/** Seconds a client is told to wait before retrying. */
export const DATABASE_RETRY_AFTER_SEC = 5;

export function isDatabaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e; depth++) {
    if (typeof e === "object") {
      const code = (e as { code?: unknown }).code;
      if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return true;
      const message = (e as { message?: unknown }).message;
      if (typeof message === "string" && UNAVAILABLE_MESSAGES.test(message)) return true;
      e = (e as { cause?: unknown }).cause;
    } else break;
  }
  return false;
}
