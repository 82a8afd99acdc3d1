import type { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Catalog } from "../catalog/index.js";
import type { Clock } from "../core/clock.js";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { RequestLogWriter } from "../logs/request-log-writer.js";
import { buildUpstreamRequest } from "../providers/index.js";
import { LocalCircuitBreakers, type CircuitBreakers } from "../routing/circuit-breaker.js";
import { runWithFallback, type AttemptOutcome, type TryRecord } from "../routing/fallback.js";
import { cacheDecision, responseCacheKey, type CachedResponse, type ResponseCacheStore } from "../routing/response-cache.js";
import { DEFAULT_RETRY_POLICY, RetryBudget, type RetryPolicy } from "../routing/retry.js";
import type { Rng } from "../routing/rng.js";
import { toCandidates, type Attempt, type AttemptPlanner } from "./attempts.js";
import { SseTap } from "./sse-tap.js";
import { countPromptTokens, countTokens, promptTokenGuess, promptTokenUpperBound } from "./tokenizer.js";
import { classifyError, UpstreamFailure, type UpstreamClient, type UpstreamResponse } from "./upstream.js";
import { estimatedUsage, parseUsage } from "./usage.js";
import { holdTtlMs } from "../billing/hold-ttl.js";
import { DeliveredTokens } from "./delivered-tokens.js";
import type { Admission, AuthContext, BillingHooks, Endpoint, RateLimitHooks, Reservation, ResolvedModel, ServedBy, TokenUsage } from "./types.js";

export interface ProxyDeps {
  catalog: Catalog;
  planner: AttemptPlanner;
  upstream: UpstreamClient;
  billing: BillingHooks;
  rateLimit: RateLimitHooks;
  logs: RequestLogWriter;
  logger: Logger;
  clock: Clock;
  /** Open streams count as in flight until they end, so shutdown drains them. */
  inflight: { count: number };
  /** Retry policy, per-upstream retry budget and circuit breakers (src/routing). Default: in memory. */
  resilience?: Resilience;
  /** Opt-in response cache (src/routing); absent = never cached. */
  cache?: { store: ResponseCacheStore; hitPriceBp: number };
  /** Stream progress recorded on the hold before output is sent (src/billing/stream-progress.ts); absent = none. */
  progress?: StreamProgressHooks;
}

/** What a stream reports while it runs: a crash then bills at least what was delivered. */
export interface StreamProgressHooks {
  start(requestId: string, s: { promptTokens: number; maxTokens?: number | null }): Promise<void>;
  /** Before sending output that brings the stream's total to `completionTokens`; await a returned promise. */
  report(requestId: string, completionTokens: number): Promise<void> | undefined;
  end(requestId: string): void;
}

export interface Resilience {
  policy: RetryPolicy;
  budget: RetryBudget;
  breakers: CircuitBreakers;
  rng?: Rng;
}

export interface ProxyRequest {
  requestId: string;
  auth: AuthContext;
  endpoint: Exclude<Endpoint, "passthrough">;
  body: Record<string, unknown>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  startedAt: number;
  /** The `x-gateway-cache` request header (opt in/out of the response cache). */
  cacheControl?: string | null;
  /**
   * The Node response, when served by @hono/node-server: streams are then written to it directly
   * (no web ReadableStream in between, about half the CPU per chunk) and the handler returns
   * `RESPONSE_ALREADY_SENT`.
   */
  sink?: ServerResponse;
}

const PATHS = { "chat.completions": "/chat/completions", completions: "/completions", embeddings: "/embeddings" } as const;

const enc = new TextEncoder();

/** Resolves when the socket can take more, or when the client has gone (then `false`). */
function writable(out: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      out.off("close", onClose);
      resolve(true);
    };
    const onClose = () => {
      out.off("drain", onDrain);
      resolve(false);
    };
    out.once("drain", onDrain);
    out.once("close", onClose);
  });
}

/**
 * The request path after authentication: resolve the model, admit (rate limits), reserve (billing),
 * try the planned upstreams in order while nothing has reached the client, then meter, settle and log.
 */
export class ProxyService {
  private readonly d: ProxyDeps & { resilience: Resilience };
  constructor(deps: ProxyDeps) {
    this.d = {
      ...deps,
      resilience: deps.resilience ?? { policy: DEFAULT_RETRY_POLICY, budget: new RetryBudget(undefined, deps.clock), breakers: new LocalCircuitBreakers(undefined, deps.clock) },
    };
  }

  async handle(req: ProxyRequest): Promise<Response> {
    const { body, auth } = req;
    const modelName = body.model;
    if (typeof modelName !== "string" || modelName.length === 0) {
      throw new AppError("invalid_request", "`model` is required and must be a string", { param: "model" });
    }
    const model = this.d.catalog.resolve(modelName);
    if (!model) throw new AppError("model_not_found", `The model \`${modelName}\` does not exist`, { param: "model" });
    if (auth.allowedModels && !auth.allowedModels.includes(model.id) && !auth.allowedModels.includes(modelName)) {
      throw new AppError("model_not_allowed", `This API key may not use the model \`${modelName}\``, { param: "model" });
    }
    const stream = req.endpoint !== "embeddings" && body.stream === true;
    const maxField = body.max_completion_tokens !== undefined ? "max_completion_tokens" : "max_tokens";
    const requestedMax = typeof body[maxField] === "number" ? (body[maxField] as number) : null;
    if (requestedMax !== null && (!Number.isInteger(requestedMax) || requestedMax < 1)) {
      throw new AppError("invalid_request", `\`${maxField}\` must be a positive integer`, { param: maxField });
    }
    // Holds use a cheap upper bound (bytes); exact local counting happens only when an estimate is needed.
    const promptTokens = promptTokenUpperBound(body);
    const attempts = this.d.planner.plan(model, body);
    if (attempts.length === 0) throw new AppError("upstream_unavailable", `No upstream is available for \`${modelName}\``);

    const admission = await this.d.rateLimit.admit({
      requestId: req.requestId,
      auth,
      model: model.id,
      providerId: attempts[0]!.target.id,
      estimatedTokens: promptTokenGuess(promptTokens) + (requestedMax ?? 0),
    });
    let cacheKey: string | null = null;
    if (this.d.cache && cacheDecision({ endpoint: req.endpoint, body, header: req.cacheControl, keyOptions: auth.keyOptions }).use) {
      cacheKey = responseCacheKey(req.endpoint, body, auth.accountId);
      let hit: CachedResponse | null;
      try {
        hit = await this.d.cache.store.get(cacheKey);
      } catch (e) {
        admission.done(0);
        throw e;
      }
      if (hit) return this.serveCached(req, model, hit, admission, promptTokens);
    }
    let reservation: Reservation;
    try {
      // durability: the hold outlives the longest this request can take (timeouts × attempts + backoff).
      const r = this.d.resilience.policy;
      const holdTtl = holdTtlMs({ attemptTotalsMs: attempts.map((a) => a.target.timeouts.totalMs), maxAttempts: r.maxAttempts, maxDelayMs: r.maxDelayMs, deadlineMs: r.deadlineMs, floorMs: 0 });
      reservation = await this.d.billing.reserve({ requestId: req.requestId, auth, endpoint: req.endpoint, model, promptTokens, requestedMaxTokens: requestedMax, holdTtlMs: holdTtl });
    } catch (e) {
      admission.done(0);
      throw e;
    }
    this.d.logs.begin({
      id: req.requestId,
      accountId: auth.accountId,
      apiKeyId: auth.keyId,
      endpoint: req.endpoint,
      requestedModel: modelName,
      stream,
      status: "pending",
      createdAt: new Date(req.startedAt),
    });
    const run = new RequestRun(this.d, req, model, stream, promptTokens, admission, reservation, maxField, cacheKey);
    return run.execute(attempts);
  }

  /**
   * A response-cache hit: never sent upstream. Billed at the configured fraction of the original
   * usage (0 = free: no hold, no charge); the upstream cost of a hit is zero, so all of it is profit.
   */
  private async serveCached(req: ProxyRequest, model: ResolvedModel, hit: CachedResponse, admission: Admission, promptTokens: number): Promise<Response> {
    const served: ServedBy = { providerId: hit.providerId, upstreamAccountId: null, upstreamModel: hit.upstreamModel, discountBp: 10_000, price: null };
    const bp = this.d.cache!.hitPriceBp;
    const u = hit.usage;
    const usage: TokenUsage | null =
      u && bp > 0
        ? {
            promptTokens: Math.ceil((u.promptTokens * bp) / 10_000),
            completionTokens: Math.ceil((u.completionTokens * bp) / 10_000),
            totalTokens: 0,
            cachedTokens: u.cachedTokens !== undefined ? Math.ceil((u.cachedTokens * bp) / 10_000) : undefined,
            reasoningTokens: u.reasoningTokens !== undefined ? Math.ceil((u.reasoningTokens * bp) / 10_000) : undefined,
            estimated: false,
          }
        : null;
    if (usage) usage.totalTokens = usage.promptTokens + usage.completionTokens;
    let settled: Awaited<ReturnType<Reservation["settle"]>> | null = null;
    let headers: Record<string, string> = {};
    try {
      if (usage) {
        const reservation = await this.d.billing.reserve({ requestId: req.requestId, auth: req.auth, endpoint: req.endpoint, model, promptTokens, requestedMaxTokens: 1 });
        headers = reservation.headers;
        settled = await reservation.settle(usage, served);
      }
    } finally {
      admission.done(0);
    }
    let body = hit.body;
    if (hit.contentType.includes("json")) {
      try {
        const j = JSON.parse(body) as { usage?: Record<string, unknown> };
        if (j.usage && typeof j.usage === "object") {
          j.usage.cost = settled ? Number(settled.costDisplay) : 0;
          body = JSON.stringify(j);
        }
      } catch {
        /* stored as sent; leave it */
      }
    }
    const now = this.d.clock.now();
    this.d.logs.finish({
      id: req.requestId,
      accountId: req.auth.accountId,
      apiKeyId: req.auth.keyId,
      endpoint: req.endpoint,
      requestedModel: model.requested,
      servedModel: hit.upstreamModel,
      providerId: hit.providerId,
      upstreamAccountId: null,
      stream: false,
      status: "completed",
      promptTokens: u?.promptTokens ?? null,
      completionTokens: u?.completionTokens ?? null,
      cachedTokens: u?.cachedTokens ?? null,
      reasoningTokens: u?.reasoningTokens ?? null,
      totalTokens: u?.totalTokens ?? null,
      estimated: false,
      latencyMs: now - req.startedAt,
      ttftMs: null,
      upstreamStatus: null,
      errorCode: null,
      upstreamCostMicros: settled?.upstreamCostMicros ?? 0n,
      priceMicros: settled?.priceMicros ?? 0n,
      profitMicros: settled ? settled.priceMicros - settled.upstreamCostMicros : 0n,
      cacheHit: true,
      attempts: 0,
      meta: { cache_hit_price_bp: bp },
      createdAt: new Date(req.startedAt),
      completedAt: new Date(now),
    });
    const h = new Headers({
      "content-type": hit.contentType,
      "x-request-id": req.requestId,
      "x-router-log-id": req.requestId,
      "x-gateway-provider": hit.providerId,
      "x-gateway-model": hit.upstreamModel,
      "x-gateway-cache": "HIT",
    });
    for (const [k, v] of Object.entries(admission.headers)) h.set(k, v);
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    return new Response(body, { status: hit.status, headers: h });
  }
}

/** What a successful attempt hands over: the upstream response and what was read of it already. */
type Committed =
  | { kind: "json"; res: UpstreamResponse; json: Record<string, unknown> }
  | { kind: "stream"; res: UpstreamResponse; iterator: AsyncIterator<Buffer>; head: Buffer[] };

/** Most upstream chunks held back while waiting for the first data frame of a stream. */
const MAX_HELD_CHUNKS = 32;

/** State of one proxied request from the first upstream attempt to settlement. */
class RequestRun {
  private attemptsMade = 0;
  private finished = false;
  /** Every try of a request that needed more than one (fallbacks, retries, skipped circuits), for the log. */
  private tries: TryRecord[] | null = null;

  constructor(
    private readonly d: ProxyDeps & { resilience: Resilience },
    private readonly req: ProxyRequest,
    private readonly model: ResolvedModel,
    private readonly stream: boolean,
    private readonly promptTokens: number,
    private readonly admission: Admission,
    private readonly reservation: Reservation,
    private readonly maxField: "max_tokens" | "max_completion_tokens",
    private readonly cacheKey: string | null = null,
  ) {}

  /**
   * The fallback/retry loop (src/routing/fallback.ts): planned attempts in order, transient failures
   * retried with backoff within the retry budget, open circuits skipped, every outcome reported to
   * the breakers. An attempt only succeeds once the response can be committed: a JSON body fully
   * read and parsed, or a stream's first data frame received; until then any failure falls back.
   * After that nothing is retried: a later failure ends the stream with an SSE error event.
   */
  async execute(attempts: Attempt[]): Promise<Response> {
    let lastAttempt: Attempt | null = null;
    let lastStatus: number | null = null;
    const candidates = toCandidates(attempts);
    const r = this.d.resilience;
    let result: Awaited<ReturnType<typeof runWithFallback<Committed, (typeof candidates)[number]>>>;
    try {
      result = await runWithFallback(
        candidates,
        async (c): Promise<AttemptOutcome<Committed>> => {
          lastAttempt = c.attempt;
          lastStatus = null;
          const out = await this.tryAttempt(c.attempt);
          if (!out.ok && out.failure.kind === "http") lastStatus = out.failure.status;
          return out;
        },
        { policy: r.policy, budget: r.budget, breakers: r.breakers, rng: r.rng, clock: this.d.clock, signal: this.req.signal, startedAt: this.req.startedAt },
      );
    } catch (e) {
      // A local failure (not the upstream's): release the hold and the limits, then report it.
      await this.finalize({ status: "failed", served: null, usage: null, errorCode: e instanceof AppError ? e.code : "internal_error" });
      throw e;
    }
    this.attemptsMade = result.attempts;
    if (this.req.signal.aborted) {
      if (result.ok) {
        result.value.res.finish();
        result.value.res.body.destroy();
        void result.settle(true);
      }
      await this.finalize({ status: "cancelled", served: attempts[0]?.served ?? null, usage: null, errorCode: "client_closed" });
      throw new AppError("invalid_request", "client closed the request");
    }
    if (!result.ok) {
      if (result.tries.length > 1) this.tries = result.tries;
      return this.fail(result.error, lastAttempt, lastStatus);
    }
    if (result.tries.length > 1) this.tries = result.tries;
    const attempt = result.attempt.attempt;
    const v = result.value;
    return v.kind === "stream" ? this.streamResponse(attempt, v.res, v.iterator, v.head, result.settle) : this.jsonResponse(attempt, v.res, v.json, result.settle);
  }

  /** One upstream call, up to the point where the response could be committed to the client. */
  private async tryAttempt(attempt: Attempt): Promise<AttemptOutcome<Committed>> {
    const t0 = this.d.clock.now();
    let res: UpstreamResponse;
    // Building the request is local work on the client's body: if it fails, nothing went upstream,
    // so it must not count as an upstream failure (thrown, not returned: breakers never see it).
    let upstreamReq: ReturnType<typeof buildUpstreamRequest>;
    try {
      upstreamReq = buildUpstreamRequest(attempt.target, {
        path: PATHS[this.req.endpoint],
        body: this.req.body,
        upstreamModel: attempt.served.upstreamModel,
        stream: this.stream,
        maxTokens: this.reservation.maxTokens,
        maxTokensField: this.maxField,
      });
    } catch (e) {
      throw new AppError("invalid_request", "The request body cannot be forwarded", { cause: e });
    }
    try {
      res = await this.d.upstream.send(upstreamReq, attempt.target.timeouts, this.req.signal);
    } catch (e) {
      const f = e instanceof UpstreamFailure ? e : new UpstreamFailure("network", "upstream error", { cause: e });
      this.d.planner.report?.(attempt, { ok: false, retryable: f.kind !== "aborted", latencyMs: this.d.clock.now() - t0 });
      this.d.logger.warn({ requestId: this.req.requestId, provider: attempt.target.id, kind: f.kind }, "upstream attempt failed");
      return { ok: false, failure: { kind: f.kind } };
    }
    if (res.status >= 400) {
      const text = await readText(res).catch(() => "");
      this.d.planner.report?.(attempt, { ok: false, retryable: true, status: res.status, latencyMs: this.d.clock.now() - t0 });
      this.d.logger.warn({ requestId: this.req.requestId, provider: attempt.target.id, status: res.status }, "upstream returned an error");
      const ra = res.headers["retry-after"];
      return { ok: false, failure: { kind: "http", status: res.status, body: text, retryAfter: Array.isArray(ra) ? ra[0] : ra } };
    }
    if (!this.stream) {
      let text: string;
      try {
        text = await readText(res);
      } catch (e) {
        return { ok: false, failure: { kind: classifyError(e).kind } };
      }
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
        if (!json || typeof json !== "object") throw new Error("not an object");
      } catch {
        this.d.logger.warn({ requestId: this.req.requestId, provider: attempt.target.id }, "upstream returned a body that is not JSON");
        return { ok: false, failure: { kind: "http", status: 502, body: "" } };
      }
      this.d.planner.report?.(attempt, { ok: true, retryable: false, status: res.status, latencyMs: this.d.clock.now() - t0 });
      return { ok: true, value: { kind: "json", res, json } };
    }
    // Hold the stream back until its first data frame: an upstream that dies (or sends an error
    // event) before any data reached us can still fall back to the next route.
    const iterator = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) {
          if (head.length === 0) throw new UpstreamFailure("network", "upstream stream ended before any data");
          break;
        }
        head.push(next.value);
        const frame = firstDataFrame(head);
        if (frame === null && head.length < MAX_HELD_CHUNKS) continue;
        const err = frame !== null ? streamErrorOf(frame) : null;
        if (err) {
          res.finish();
          res.body.destroy();
          this.d.planner.report?.(attempt, { ok: false, retryable: true, status: err.status, latencyMs: this.d.clock.now() - t0 });
          return { ok: false, failure: { kind: "http", status: err.status, body: frame! } };
        }
        break;
      }
    } catch (e) {
      res.finish();
      res.body.destroy();
      const f = classifyError(e);
      this.d.logger.warn({ requestId: this.req.requestId, provider: attempt.target.id, kind: f.kind }, "upstream stream failed before its first data");
      return { ok: false, failure: { kind: f.kind } };
    }
    this.d.planner.report?.(attempt, { ok: true, retryable: false, status: res.status, latencyMs: this.d.clock.now() - t0 });
    return { ok: true, value: { kind: "stream", res, iterator, head } };
  }

  private async fail(err: AppError, attempt: Attempt | null, upstreamStatus: number | null): Promise<never> {
    await this.finalize({ status: "failed", served: attempt?.served ?? null, usage: null, errorCode: err.code, upstreamStatus });
    throw err;
  }

  /** A plain object (not `Headers`): @hono/node-server then writes it without building a Headers instance. */
  private baseHeaders(served: ServedBy, contentType: string): Record<string, string> {
    return {
      "content-type": contentType,
      "x-request-id": this.req.requestId,
      "x-router-log-id": this.req.requestId,
      "x-gateway-provider": served.providerId,
      "x-gateway-model": served.upstreamModel,
      ...this.admission.headers,
      ...this.reservation.headers,
    };
  }

  private async jsonResponse(attempt: Attempt, res: UpstreamResponse, json: Record<string, unknown>, settleBreaker: (ok: boolean) => Promise<void>): Promise<Response> {
    void settleBreaker(true);
    const usage = parseUsage(json.usage) ?? estimatedUsage(countPromptTokens(this.req.body), countTokens(completionText(json)));
    const served = servedAs(attempt, json.model);
    const settled = await this.finalize({ status: "completed", served, usage, upstreamStatus: res.status });
    if (json.usage && typeof json.usage === "object") {
      const u = json.usage as Record<string, unknown>;
      delete u.cost_details;
      if (settled) u.cost = Number(settled.costDisplay);
    } else if (settled && this.req.endpoint !== "embeddings") {
      json.usage = { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens, cost: Number(settled.costDisplay), estimated: true };
    }
    const text = JSON.stringify(json);
    const headers = this.baseHeaders(served, "application/json");
    if (this.cacheKey && this.d.cache) {
      headers["x-gateway-cache"] = "MISS";
      const u = parseUsage(json.usage) ?? usage;
      void this.d.cache.store.set(this.cacheKey, {
        status: 200,
        body: text,
        contentType: "application/json",
        usage: { promptTokens: u.promptTokens, completionTokens: u.completionTokens, totalTokens: u.totalTokens, cachedTokens: u.cachedTokens, reasoningTokens: u.reasoningTokens },
        providerId: served.providerId,
        upstreamModel: served.upstreamModel,
        storedAt: this.d.clock.now(),
      });
    }
    return new Response(text, { status: 200, headers });
  }

  private streamResponse(
    attempt: Attempt,
    res: UpstreamResponse,
    iterator: AsyncIterator<Buffer>,
    head: Buffer[],
    settleBreaker: (ok: boolean) => Promise<void>,
  ): Response {
    const clientWantsUsage = (this.req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const served = servedAs(attempt, modelOfFrame(firstDataFrame(head)));
    const tap = new SseTap({
      clientWantsUsage,
      decorateUsage: (usage, raw) => {
        delete raw.cost_details;
        raw.cost = Number(this.reservation.quote(usage, served).costDisplay);
      },
    });
    let ttftMs: number | null = null;
    this.d.inflight.count++;
    let counted = true;
    // durability: record progress on the hold before output goes out (a crash bills ≥ delivered).
    const progress = this.d.progress;
    const delivered = new DeliveredTokens();
    const requested = this.req.body[this.maxField];
    void progress?.start(this.req.requestId, { promptTokens: countPromptTokens(this.req.body), maxTokens: this.reservation.maxTokens ?? (typeof requested === "number" ? requested : null) });
    const beforeSend = (chunk: Buffer | string): Promise<void> | undefined => progress?.report(this.req.requestId, delivered.add(chunk));
    const done = (outcome: "completed" | "cancelled" | "failed", errorCode?: string) => {
      progress?.end(this.req.requestId);
      if (counted) {
        counted = false;
        this.d.inflight.count--;
      }
      res.finish();
      // A client going away says nothing about the upstream; a mid-stream break does.
      void settleBreaker(outcome !== "failed");
      const usage = tap.usage ?? estimatedUsage(countPromptTokens(this.req.body), countTokens(tap.producedText()));
      void this.finalize({ status: outcome, served, usage, ttftMs, errorCode, upstreamStatus: res.status }).catch((e) =>
        this.d.logger.error({ requestId: this.req.requestId, err: (e as Error).message }, "stream finalization failed"),
      );
    };
    if (this.req.sink) return this.streamToNode(this.req.sink, attempt, res, iterator, head, tap, served, done, (t) => (ttftMs ??= t), beforeSend);
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            const held = head.shift();
            const next = held !== undefined ? { done: false as const, value: held } : await iterator.next();
            if (next.done) {
              const rest = tap.flush();
              if (rest) await beforeSend(rest); // durability
              if (rest) controller.enqueue(enc.encode(rest));
              controller.close();
              done("completed");
              return;
            }
            const out = tap.push(next.value);
            if (out.length) await beforeSend(out); // durability
            if (ttftMs === null && tap.sawContent) ttftMs = this.d.clock.now() - this.req.startedAt;
            if (typeof out === "string") {
              if (out.length) controller.enqueue(enc.encode(out));
            } else controller.enqueue(out);
          } catch (e) {
            if (this.req.signal.aborted || this.finished) {
              controller.error(e);
              return;
            }
            // The upstream broke mid-stream: tell the client in OpenAI's shape, bill what was delivered.
            // undici's body timeout is the idle timeout; classifyError names it (and the total deadline).
            const f = classifyError(e);
            const err = failureToError(f, attempt.target.id, true);
            const frame = { error: { message: err.message, type: err.type, code: err.code, param: null, request_id: this.req.requestId } };
            controller.enqueue(enc.encode(`data: ${JSON.stringify(frame)}\n\n`));
            controller.close();
            done("failed", err.code);
          }
        },
        cancel: async () => {
          done("cancelled", "client_closed");
          try {
            await iterator.return?.();
          } catch {
            /* already torn down */
          }
          res.body.destroy();
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status: 200, headers: this.baseHeaders(served, "text/event-stream; charset=utf-8") });
  }

  /**
   * The stream written straight to Node's response: frames go out as they arrive, a full socket
   * buffer pauses the upstream read (backpressure), and a client that goes away cancels it.
   */
  private streamToNode(
    out: ServerResponse,
    attempt: Attempt,
    res: UpstreamResponse,
    iterator: AsyncIterator<Buffer>,
    head: Buffer[],
    tap: SseTap,
    served: ServedBy,
    done: (outcome: "completed" | "cancelled" | "failed", errorCode?: string) => void,
    onFirstContent: (ms: number) => void,
    beforeSend: (chunk: Buffer | string) => Promise<void> | undefined,
  ): Response {
    out.writeHead(200, this.baseHeaders(served, "text/event-stream; charset=utf-8"));
    out.flushHeaders();
    let ended = false;
    const cancel = () => {
      if (ended) return;
      ended = true;
      done("cancelled", "client_closed");
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
      res.body.destroy();
    };
    out.once("close", () => {
      if (!out.writableFinished) cancel();
    });
    const pump = async () => {
      try {
        for (;;) {
          const held = head.shift();
          const next = held !== undefined ? { done: false as const, value: held } : await iterator.next();
          if (ended) return;
          if (next.done) {
            const rest = tap.flush();
            if (rest) {
              const w = beforeSend(rest); // durability
              if (w) await w;
              if (ended) return;
            }
            ended = true;
            out.end(rest || undefined);
            done("completed");
            return;
          }
          const chunk = tap.push(next.value);
          if (chunk.length) {
            const w = beforeSend(chunk); // durability
            if (w) await w;
            if (ended) return;
          }
          if (tap.sawContent) onFirstContent(this.d.clock.now() - this.req.startedAt);
          if (chunk.length && !out.write(chunk) && !(await writable(out))) return cancel();
        }
      } catch (e) {
        if (ended) return;
        if (out.destroyed || this.req.signal.aborted) return cancel();
        // The upstream broke mid-stream: tell the client in OpenAI's shape, bill what was delivered.
        const err = failureToError(classifyError(e), attempt.target.id, true);
        const frame = { error: { message: err.message, type: err.type, code: err.code, param: null, request_id: this.req.requestId } };
        ended = true;
        out.end(`data: ${JSON.stringify(frame)}\n\n`);
        done("failed", err.code);
      }
    };
    void pump();
    return RESPONSE_ALREADY_SENT;
  }

  /** Settles billing, releases limits and writes the final log row, exactly once per request. */
  private async finalize(o: {
    status: "completed" | "cancelled" | "failed";
    served: ServedBy | null;
    usage: TokenUsage | null;
    ttftMs?: number | null;
    errorCode?: string;
    upstreamStatus?: number | null;
  }) {
    if (this.finished) return null;
    this.finished = true;
    const now = this.d.clock.now();
    const usage = o.usage;
    let settled: Awaited<ReturnType<Reservation["settle"]>> | null = null;
    let billingError: string | undefined;
    try {
      if (usage && o.served && (usage.totalTokens > 0 || usage.upstreamCostUsd)) settled = await this.reservation.settle(usage, o.served);
      else await this.reservation.release();
    } catch (e) {
      // The hold stays open; the sweeper settles it from this log row.
      billingError = (e as Error).message;
      this.d.logger.error({ requestId: this.req.requestId, err: billingError }, "settlement failed; hold left for the sweeper");
    }
    this.admission.done(usage?.totalTokens ?? 0);
    this.d.logs.finish({
      id: this.req.requestId,
      accountId: this.req.auth.accountId,
      apiKeyId: this.req.auth.keyId,
      endpoint: this.req.endpoint,
      requestedModel: this.model.requested,
      servedModel: o.served?.upstreamModel ?? null,
      providerId: o.served?.providerId ?? null,
      upstreamAccountId: o.served?.upstreamAccountId ?? null,
      stream: this.stream,
      status: o.status,
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      cachedTokens: usage?.cachedTokens ?? null,
      reasoningTokens: usage?.reasoningTokens ?? null,
      totalTokens: usage?.totalTokens ?? null,
      estimated: usage?.estimated ?? false,
      latencyMs: now - this.req.startedAt,
      ttftMs: o.ttftMs ?? null,
      upstreamStatus: o.upstreamStatus ?? null,
      errorCode: o.errorCode ?? null,
      upstreamCostMicros: settled?.upstreamCostMicros ?? null,
      priceMicros: settled?.priceMicros ?? null,
      profitMicros: settled ? settled.priceMicros - settled.upstreamCostMicros : null,
      attempts: this.attemptsMade,
      meta: billingError || this.tries ? { ...(billingError ? { billing_error: billingError } : {}), ...(this.tries ? { tries: this.tries } : {}) } : null,
      createdAt: new Date(this.req.startedAt),
      completedAt: new Date(now),
    });
    return settled;
  }
}

async function readText(res: UpstreamResponse): Promise<string> {
  try {
    return await res.body.text();
  } catch (e) {
    throw e instanceof UpstreamFailure ? e : new UpstreamFailure("network", "upstream body error", { cause: e });
  } finally {
    res.finish();
  }
}

function completionText(json: Record<string, unknown>): string {
  const choices = json.choices as Array<{ message?: { content?: unknown }; text?: unknown }> | undefined;
  if (!Array.isArray(choices)) return "";
  let s = "";
  for (const c of choices) {
    if (typeof c.message?.content === "string") s += c.message.content;
    if (typeof c.text === "string") s += c.text;
  }
  return s;
}

function failureToError(f: UpstreamFailure, providerId: string, midStream = false): AppError {
  const where = midStream ? " mid-stream" : "";
  switch (f.kind) {
    case "timeout_connect":
    case "timeout_first_byte":
    case "timeout_total":
    case "timeout_idle":
      return new AppError("upstream_timeout", `Upstream ${providerId} timed out${where} (${f.kind.replace("timeout_", "").replace("_", " ")})`, { cause: f });
    case "connect":
      return new AppError("upstream_unavailable", `Upstream ${providerId} is unreachable`, { cause: f, status: 502 });
    default:
      return new AppError("upstream_error", `Upstream ${providerId} failed${where}`, { cause: f });
  }
}

/** The payload of the first SSE `data:` frame in the held chunks, or null when none is complete yet. */
function firstDataFrame(chunks: Buffer[]): string | null {
  const text = Buffer.concat(chunks).toString("utf8");
  let rest = text;
  for (;;) {
    const m = /\r?\n\r?\n/.exec(rest);
    if (!m) return null;
    const frame = rest.slice(0, m.index);
    rest = rest.slice(m.index + m[0].length);
    let data: string | null = null;
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith("data:")) data = (data === null ? "" : data + "\n") + line.slice(5).replace(/^ /, "");
    }
    if (data !== null) return data.trim();
  }
}

/**
 * OpenRouter may answer with another model than asked (the client's `models` list, its own
 * fallbacks): the header and the log then name the model that actually served.
 */
function servedAs(attempt: Attempt, reported: unknown): ServedBy {
  if (attempt.target.type !== "openrouter" || typeof reported !== "string" || !reported || reported === attempt.served.upstreamModel) return attempt.served;
  return { ...attempt.served, upstreamModel: reported };
}

function modelOfFrame(data: string | null): unknown {
  if (!data || !data.startsWith("{")) return undefined;
  try {
    return (JSON.parse(data) as { model?: unknown }).model;
  } catch {
    return undefined;
  }
}

/** An upstream that opens a stream with an error event (OpenRouter does) failed before any data. */
function streamErrorOf(data: string): { status: number } | null {
  if (!data.startsWith("{") || !data.includes('"error"')) return null;
  try {
    const j = JSON.parse(data) as { error?: { code?: unknown }; choices?: unknown };
    if (!j.error || Array.isArray(j.choices)) return null;
    const code = Number(j.error.code);
    return { status: Number.isInteger(code) && code >= 400 && code < 600 ? code : 502 };
  } catch {
    return null;
  }
}
