import type { ServedBy } from "../contracts/request.js";
import { AppError } from "../core/errors.js";
import { adapterFor, estimatedUsage } from "../providers/index.js";
import type { UpstreamAttempt } from "../routing/attempt.js";
import type { AnswerContext } from "./answer-context.js";
import { OutputMeter } from "./output-meter.js";
import { DialectTap } from "./dialects/dialect-tap.js";
import { dialectContext } from "./dialects/dialect.js";
import { SseTap } from "./sse-tap.js";
import type { UpstreamIdentity } from "./upstream-identity.js";
import { relayUpstream, type RelayHooks } from "./stream-relay.js";
import { settleStream } from "./stream-settle.js";
import { promptTokensNow } from "./prompt-count.js";
import { trackStreamProgress } from "./stream-progress.js";
import { promptTokenUpperBound } from "./tokenizer.js";
import { classifyError, type UpstreamResponse } from "./upstream.js";
import { failureToError } from "./upstream-errors.js";

/**
 * A committed stream: relayed as it comes, metered against the hold (the stream is ended with an
 * error event when its output reaches what the hold covers), and settled when it ends, from the
 * upstream's usage chunk or, failing that, from what was delivered.
 */
export function respondStream(
  run: AnswerContext,
  attempt: UpstreamAttempt,
  res: UpstreamResponse,
  iterator: AsyncIterator<Buffer>,
  head: Buffer[],
  served: ServedBy,
  settleBreaker: (ok: boolean) => Promise<void>,
  identity?: UpstreamIdentity,
): Response {
  const { req, d, metered } = run;
  const adapter = adapterFor(attempt.target);
  const reservation = metered.reservation;
  const progress = d.progress;
  const meter = new OutputMeter(reservation?.outputTokens ?? null);
  const dialect = req.dialect;
  // What the client is shown when the upstream reports no usage (the bill counts the prompt exactly).
  const estimate = () => estimatedUsage(promptTokensNow(req.body) ?? promptTokenUpperBound(req.body), meter.deliveredTokens());
  const chatTap = new SseTap({
    // A dialect always closes with usage: it reads the usage chunk.
    clientWantsUsage: dialect !== undefined || (req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
    parseUsage: (u) => adapter.usage(u),
    meter,
    translator: adapter.streamTranslator(req.endpoint),
    // A dialect writes its own closing usage (DialectTap); a chat client gets the estimate here.
    estimateUsage: dialect ? undefined : estimate,
    decorateUsage: reservation
      ? (usage, raw) => {
          delete raw.cost_details;
          raw.cost = Number(reservation.quote(usage, served).costDisplay);
        }
      : undefined,
  });
  const dialectStream = dialect?.api.stream(dialectContext(req.requestId, req.startedAt, dialect.clientBody, () => d.clock.now()));
  const tap = dialectStream ? new DialectTap(chatTap, dialectStream, estimate, req.requestId) : chatTap;
  let ttftMs: number | null = null;
  d.inflight.count++;
  const stopProgress = trackStreamProgress(progress, req.requestId, req.body, reservation?.outputTokens ?? null);
  const hooks: RelayHooks = {
    requestId: req.requestId,
    signal: req.signal,
    onFirstContent: () => (ttftMs = d.clock.now() - req.startedAt),
    errorOf: (e) => failureToError(classifyError(e), attempt.target.id, true),
    errorFrame: dialectStream ? (err) => dialectStream.error(err, req.requestId) : undefined,
    stoppedError: () => new AppError("insufficient_quota", "The output reached what this request's hold covers; the stream was ended and what was delivered is billed."),
    beforeSend: progress ? () => progress.report(req.requestId, meter.tokens()) : undefined,
    onEnd: (outcome, errorCode) => {
      stopProgress();
      d.inflight.count--;
      // A client going away says nothing about the upstream; a mid-stream break does (a cut by the meter does not).
      void settleBreaker(outcome !== "failed" || chatTap.stopped);
      settleStream(metered, d.logger, req.requestId, {
        status: outcome,
        errorCode,
        reported: chatTap.usage && !chatTap.stopped ? chatTap.usage : null,
        meter,
        body: req.body,
        served,
        ttftMs,
        upstreamStatus: res.status,
        ...(identity ? { meta: { ...identity } } : {}),
      });
    },
  };
  return relayUpstream(req.sink, 200, run.headers(served, "text/event-stream; charset=utf-8"), res, head, iterator, tap, hooks);
}
