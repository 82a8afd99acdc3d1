import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON-lines logger. Secrets never reach it by construction (we log ids and prefixes, not keys),
 * and the redact list is a second fence in case a header object is logged whole.
 */
export function createLogger(opts: { level: string; pretty?: boolean }): Logger {
  return pino({
    level: opts.level,
    base: undefined,
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
  });
}
