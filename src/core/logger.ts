import { pino, type DestinationStream, type Logger } from "pino";
import { secrets } from "./secret-scrubber.js";

export type { Logger };

/**
 * JSON-lines logger. Secrets never reach it by construction (we log ids and prefixes, not keys),
 * and the redact list is a second fence in case a header object is logged whole.
 */
export function createLogger(opts: { level: string; pretty?: boolean; destination?: DestinationStream }): Logger {
  return pino({
    level: opts.level,
    base: undefined,
    // Third fence: any registered upstream/bot/payment secret is cut out of the finished line.
    hooks: { streamWrite: (line) => secrets.scrub(line) },
    redact: {
      paths: [
        "authorization",
        "headers.authorization",
        "req.headers.authorization",
        "*.apiKey",
        "*.api_key",
        "apiKey",
        "api_key",
        "password",
        "*.password",
        "token",
        "*.token",
      ],
      censor: "[redacted]",
    },
  }, opts.destination);
}
