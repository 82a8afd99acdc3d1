import type { ServedBy } from "../contracts/request.js";
import { AppError } from "../core/errors.js";
import { estimatedUsage, usageOf } from "../providers/index.js";
import type { UpstreamAttempt } from "../routing/attempt.js";
import { servedAs, type AnswerContext } from "./answer-context.js";
import { sseEvent } from "./dialects/dialect.js";
import { PassthroughTap } from "./passthrough-tap.js";
import { promptTokens, } from "./prompt-count.js";
import { trackStreamProgress } from "./stream-progress.js";
import { relayUpstream, type RelayHooks } from "./stream-relay.js";
import { settleStream } from "./stream-settle.js";
import { countTokens } from "./o200k-count.js";
import { SUSPICIOUS_BYTES_PER_TOKEN } from "./usage-check.js";
import { classifyError, type UpstreamResponse } from "./upstream.js";
import { failureToError } from "./upstream-errors.js";
import { upstreamIdentity } from "./upstream-identity.js";

/**
 * Answers of an upstream that speaks the Responses API itself (providers/responses-api.ts): the
 * client gets the upstream's response object or events unchanged, and the request is billed from
 * their `usage` (input, cached input, output, reasoning), or — a stream cut short or without
 * usage — from the text deltas delivered, like chat. The stream is metered against the hold and
 * ended with a Responses `error` event when its output reaches what the hold covers.
 */

export async function respondResponsesJson(run: AnswerContext, attempt: UpstreamAttempt, res: UpstreamResponse, json: Record<string, unknown>, settleBreaker: (ok: boolean) => Promise<void>): Promise<Response> {
  void settleBreaker(true);
  const { req, metered } = run;
  const reported = usageOf(json.usage);
  const text = outputTextOf(json);
  let delivered: number | null = null;
  let usage = reported;
  if (!usage) usage = estimatedUsage(await promptTokens(req.body), countTokens(text));
  else if (usage.completionTokens * SUSPICIOUS_BYTES_PER_TOKEN < Buffer.byteLength(text)) delivered = countTokens(text);
  const served = servedAs(attempt, json.model);
  const id = upstreamIdentity(json);
  await metered.finish({
    status: "completed",
    served,
    usage,
    deliveredCompletion: delivered,
    localPrompt: reported && reported.promptTokens === 0 ? ((n) => () => n)(await promptTokens(req.body)) : null,
    upstreamStatus: res.status,
    ...(id ? { meta: { ...id } } : {}),
  });
  return new Response(JSON.stringify(json), { status: 200, headers: run.headers(served, "application/json") });
}

export function respondResponsesStream(
  run: AnswerContext,
  attempt: UpstreamAttempt,
  res: UpstreamResponse,
  iterator: AsyncIterator<Buffer>,
  head: Buffer[],
  served: ServedBy,
  settleBreaker: (ok: boolean) => Promise<void>,
): Response {
  const { req, d, metered } = run;
  const progress = d.progress;
  const tap = new PassthroughTap(metered.reservation?.outputTokens ?? null);
  let ttftMs: number | null = null;
  d.inflight.count++;
  const stopProgress = trackStreamProgress(progress, req.requestId, req.body, metered.reservation?.outputTokens ?? null);
  const hooks: RelayHooks = {
    requestId: req.requestId,
    signal: req.signal,
    onFirstContent: () => (ttftMs = d.clock.now() - req.startedAt),
    errorOf: (e) => failureToError(classifyError(e), attempt.target.id, true),
    // The Responses API's own error event, numbered after the upstream's last event.
    errorFrame: (err) => sseEvent("error", { type: "error", code: err.code, message: err.message, param: err.extra.param ?? null, sequence_number: tap.lastSequence + 1 }),
    stoppedError: () => new AppError("insufficient_quota", "The output reached what this request's hold covers; the stream was ended and what was delivered is billed."),
    beforeSend: progress ? () => progress.report(req.requestId, tap.meter.tokens()) : undefined,
    onEnd: (outcome, errorCode) => {
      stopProgress();
      d.inflight.count--;
      void settleBreaker(outcome !== "failed" || tap.stopped);
      settleStream(metered, d.logger, req.requestId, {
        status: outcome,
        errorCode,
        reported: tap.usage && !tap.stopped ? tap.usage : null,
        meter: tap.meter,
        body: req.body,
        served,
        ttftMs,
        upstreamStatus: res.status,
      });
    },
  };
  return relayUpstream(req.sink, 200, run.headers(served, "text/event-stream; charset=utf-8"), res, head, iterator, tap, hooks);
}

/** The generated text of a response object: output text, refusals, function-call arguments, reasoning summaries. */
function outputTextOf(json: Record<string, unknown>): string {
  let s = "";
  const output = Array.isArray(json.output) ? (json.output as Array<Record<string, unknown>>) : [];
  for (const item of output) {
    if (typeof item?.arguments === "string") s += item.arguments;
    for (const part of [...(Array.isArray(item?.content) ? item.content : []), ...(Array.isArray(item?.summary) ? item.summary : [])] as Array<Record<string, unknown>>) {
      if (typeof part?.text === "string") s += part.text;
      if (typeof part?.refusal === "string") s += part.refusal;
    }
  }
  return s;
}
