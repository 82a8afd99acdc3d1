import type { ServedBy, TokenUsage } from "../contracts/request.js";
import type { Logger } from "../core/logger.js";
import { estimatedUsage } from "../providers/index.js";
import type { MeteredRequest } from "./metered-request.js";
import type { OutputMeter } from "./output-meter.js";
import { promptTokens } from "./prompt-count.js";
import type { RelayOutcome } from "./stream-relay.js";

export interface StreamEnd {
  status: RelayOutcome;
  errorCode?: string;
  /** The upstream's usage, or null when it sent none or the stream was cut at the hold. */
  reported: TokenUsage | null;
  meter: OutputMeter;
  /** The body the prompt is counted from when the upstream reported none. */
  body: Record<string, unknown>;
  served: ServedBy;
  ttftMs: number | null;
  upstreamStatus: number;
  meta?: Record<string, unknown>;
}

/**
 * The one finish of a committed chat or Responses stream: billed from the upstream's usage, checked
 * against what was delivered, or — a stream cut short or without usage — from the delivered output
 * and the local prompt count (off the event loop for a big prompt, and only when it is needed).
 */
export function settleStream(metered: MeteredRequest, logger: Logger, requestId: string, e: StreamEnd): void {
  const { reported } = e;
  const delivering = e.meter.deliveredFor(reported ? Math.min(reported.completionTokens, metered.bounds.outputTokens ?? Infinity) : null);
  const prompt = reported && reported.promptTokens > 0 ? null : promptTokens(e.body);
  void Promise.all([prompt, delivering])
    .then(([local, delivered]) =>
      metered.finish({
        status: e.status,
        served: e.served,
        usage: reported ?? estimatedUsage(local ?? 0, delivered),
        deliveredCompletion: delivered,
        localPrompt: local === null ? null : () => local,
        ttftMs: e.ttftMs,
        errorCode: e.errorCode ?? null,
        upstreamStatus: e.upstreamStatus,
        ...(e.meta ? { meta: e.meta } : {}),
      }),
    )
    .catch((err) => logger.error({ requestId, err: (err as Error).message }, "stream finalization failed"));
}
