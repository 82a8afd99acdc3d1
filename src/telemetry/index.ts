import type { Logger } from "../core/logger.js";
import { LangfuseExporter } from "./langfuse.js";
import { OtlpTraceExporter, parseOtlpHeaders } from "./otlp.js";
import type { RequestLogRow } from "../logs/request-log-row.js";
import { SentryReporter, type ErrorContext } from "./sentry.js";

export type { ErrorContext };

export interface TelemetrySettings {
  otlpEndpoint: string | null;
  otlpHeaders: string | null;
  serviceName: string;
  sentryDsn: string | null;
  sentryEnvironment: string;
  langfuse: { baseUrl: string; publicKey: string; secretKey: string } | null;
  currency: string;
}

/**
 * Tracing (OTLP), error reporting (Sentry) and generation export (Langfuse). Each is off until its
 * setting is given; with all three off this is null and the request path only tests for null.
 */
export interface Telemetry {
  /** Traces and generations of one finished request (from its request-log row). Null when neither is on. */
  requestFinished: ((row: RequestLogRow) => void) | null;
  /** An unexpected error (5xx). Null when Sentry is off. */
  captureError: ((err: unknown, ctx: ErrorContext) => void) | null;
  flush(): Promise<void>;
}

export function createTelemetry(s: TelemetrySettings, logger: Logger): Telemetry | null {
  const otlp = s.otlpEndpoint ? new OtlpTraceExporter({ endpoint: s.otlpEndpoint, headers: parseOtlpHeaders(s.otlpHeaders ?? undefined), serviceName: s.serviceName, logger }) : null;
  const langfuse = s.langfuse ? new LangfuseExporter({ ...s.langfuse, currency: s.currency, logger }) : null;
  const sentry = s.sentryDsn ? new SentryReporter({ dsn: s.sentryDsn, environment: s.sentryEnvironment, logger }) : null;
  if (!otlp && !langfuse && !sentry) return null;
  const exporters = [otlp, langfuse].filter((x) => x !== null);
  return {
    requestFinished: exporters.length
      ? (row) => {
          for (const x of exporters) x.requestFinished(row);
        }
      : null,
    captureError: sentry ? (err, ctx) => sentry.capture(err, ctx) : null,
    flush: async () => void (await Promise.all([otlp?.flush(), langfuse?.flush(), sentry?.flush()])),
  };
}
