import type { ResolvedModel, ServedBy } from "../contracts/request.js";
import type { AppError } from "../core/errors.js";
import { adapterFor, buildResponsesRequest, responsesNative, responsesOpening } from "../providers/index.js";
import { toCandidates, type UpstreamAttempt } from "../routing/attempt.js";
import { runWithFallback, type AttemptOutcome } from "../routing/fallback.js";
import { servedAs, type AnswerContext, type RunOptions } from "./answer-context.js";
import type { MeteredRequest } from "./metered-request.js";
import { commitAnswer, openUpstream, type Committed, type OpenContext } from "./open-upstream.js";
import { headerSafe } from "./request-checks.js";
import { respondJson } from "./respond-json.js";
import { respondResponsesJson, respondResponsesStream } from "./respond-responses.js";
import { respondStream } from "./respond-stream.js";
import type { ProxyRequest, ResolvedDeps } from "./proxy-deps.js";
import { clientClosed } from "./upstream-errors.js";
import { upstreamIdentityOfFrame } from "./upstream-identity.js";

/** One inference request from its first upstream attempt to the committed answer. */
export class InferenceRun implements AnswerContext {
  constructor(
    readonly d: ResolvedDeps,
    readonly req: ProxyRequest,
    readonly model: ResolvedModel,
    readonly metered: MeteredRequest,
    readonly opts: RunOptions,
  ) {}

  /**
   * The fallback/retry loop (src/routing/fallback.ts): planned attempts in order, transient failures
   * retried with backoff within the retry budget, open circuits skipped, every outcome reported to
   * the breakers. An attempt succeeds once its answer can be committed (open-upstream.ts); after
   * that nothing is retried: a later failure ends the stream with an SSE error event.
   */
  async execute(attempts: UpstreamAttempt[]): Promise<Response> {
    let lastAttempt: UpstreamAttempt | null = null;
    let lastStatus: number | null = null;
    const r = this.d.resilience;
    const result = await runWithFallback(
      toCandidates(attempts),
      async (c): Promise<AttemptOutcome<Committed>> => {
        lastAttempt = c.attempt;
        lastStatus = null;
        const out = await this.tryAttempt(c.attempt);
        if (!out.ok && out.failure.kind === "http") lastStatus = out.failure.status;
        return out;
      },
      { policy: r.policy, budget: r.budget, breakers: r.breakers, rng: r.rng, clock: this.d.clock, signal: this.req.signal, startedAt: this.req.startedAt },
    );
    const m = this.metered;
    m.attempts = result.attempts;
    if (result.tries.length > 1) m.tries = result.tries;
    if (this.req.signal.aborted) {
      if (result.ok) {
        result.value.res.finish();
        result.value.res.body.destroy();
        void result.settle(true);
      }
      await m.finish({ status: "cancelled", served: attempts[0]?.served ?? null, usage: null, errorCode: "client_closed" });
      throw clientClosed();
    }
    if (!result.ok) return this.fail(result.error, lastAttempt, lastStatus);
    const attempt = result.attempt.attempt;
    const v = result.value;
    if (v.native) {
      return v.kind === "stream" ? respondResponsesStream(this, attempt, v.res, v.iterator, v.head, servedAs(attempt, v.reportedModel), result.settle) : respondResponsesJson(this, attempt, v.res, v.json, result.settle);
    }
    return v.kind === "stream"
      ? respondStream(this, attempt, v.res, v.iterator, v.head, servedAs(attempt, v.reportedModel), result.settle, upstreamIdentityOfFrame(v.firstData))
      : respondJson(this, attempt, v.res, v.json, result.settle);
  }

  private async tryAttempt(attempt: UpstreamAttempt): Promise<AttemptOutcome<Committed>> {
    const dialect = this.req.dialect;
    if (dialect?.api.endpoint === "responses" && responsesNative(attempt.target)) return this.tryNativeResponses(attempt, dialect.clientBody);
    const ctx = this.openContext(attempt);
    const upstreamReq = () =>
      ctx.adapter.buildRequest(attempt.target, {
        endpoint: this.req.endpoint,
        body: this.req.body,
        upstreamModel: attempt.served.upstreamModel,
        stream: this.opts.stream,
        maxTokens: this.metered.reservation?.maxTokens ?? null,
        maxTokensField: this.opts.maxField,
        modelMaxOutput: this.model.maxOutput,
      });
    const opened = await openUpstream(ctx, upstreamReq, attempt.target.timeouts);
    if (!opened.ok) return opened;
    return commitAnswer(ctx, opened.value, this.opts.stream);
  }

  /**
   * A Responses request on an upstream that serves the Responses API: the client's body goes to its
   * `/responses` (the API's own fields, the route's model, the hold's output cap when one is due),
   * in the same fallback loop, so the next attempt may be translated to chat.
   */
  private async tryNativeResponses(attempt: UpstreamAttempt, clientBody: Record<string, unknown>): Promise<AttemptOutcome<Committed>> {
    const ctx: OpenContext = { ...this.openContext(attempt), opening: responsesOpening };
    const upstreamReq = () => buildResponsesRequest(attempt.target, { body: clientBody, upstreamModel: attempt.served.upstreamModel, stream: this.opts.stream, maxOutputTokens: this.metered.reservation?.maxTokens ?? null });
    const opened = await openUpstream(ctx, upstreamReq, attempt.target.timeouts);
    if (!opened.ok) return opened;
    const committed = await commitAnswer(ctx, opened.value, this.opts.stream);
    return committed.ok ? { ok: true, value: { ...committed.value, native: true } } : committed;
  }

  openContext(attempt: UpstreamAttempt): OpenContext {
    return { upstream: this.d.upstream, logger: this.d.logger, requestId: this.req.requestId, providerId: attempt.target.id, adapter: adapterFor(attempt.target), signal: this.req.signal };
  }

  private async fail(err: AppError, attempt: UpstreamAttempt | null, upstreamStatus: number | null): Promise<never> {
    await this.metered.finish({ status: "failed", served: attempt?.served ?? null, usage: null, errorCode: err.code, upstreamStatus });
    throw err;
  }

  /** A plain object (not `Headers`): @hono/node-server then writes it without building a Headers instance. */
  headers(served: ServedBy, contentType: string): Record<string, string> {
    const h: Record<string, string> = {
      "content-type": contentType,
      "x-request-id": this.req.requestId,
      "x-router-log-id": this.req.requestId,
      "x-gateway-provider": served.providerId,
    };
    const model = headerSafe(served.upstreamModel);
    if (model) h["x-gateway-model"] = model;
    return Object.assign(h, this.metered.headers());
  }
}
