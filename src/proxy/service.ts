import type { Catalog } from "../catalog/index.js";
import type { Clock } from "../core/clock.js";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { RequestLogWriter } from "../logs/request-log-writer.js";
import { buildUpstreamRequest } from "../providers/index.js";
import type { Attempt, AttemptPlanner } from "./attempts.js";
import { SseTap } from "./sse-tap.js";
import { countPromptTokens, countTokens } from "./tokenizer.js";
import { UpstreamFailure, type UpstreamClient, type UpstreamResponse } from "./upstream.js";
import { estimatedUsage, parseUsage } from "./usage.js";
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
}

export interface ProxyRequest {
  requestId: string;
  auth: AuthContext;
  endpoint: Exclude<Endpoint, "passthrough">;
  body: Record<string, unknown>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  startedAt: number;
}

const PATHS = { "chat.completions": "/chat/completions", completions: "/completions", embeddings: "/embeddings" } as const;

/** Statuses after which another route may serve the same request. */
function retryableStatus(s: number): boolean {
  return s === 408 || s === 409 || s === 425 || s === 429 || s >= 500;
}

const enc = new TextEncoder();

/**
 * The request path after authentication: resolve the model, admit (rate limits), reserve (billing),
 * try the planned upstreams in order while nothing has reached the client, then meter, settle and log.
 */
export class ProxyService {
  constructor(private readonly d: ProxyDeps) {}

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
    const promptTokens = countPromptTokens(body);
    const attempts = this.d.planner.plan(model, body);
    if (attempts.length === 0) throw new AppError("upstream_unavailable", `No upstream is available for \`${modelName}\``);

    const admission = await this.d.rateLimit.admit({
      requestId: req.requestId,
      auth,
      model: model.id,
      providerId: attempts[0]!.target.id,
      estimatedTokens: promptTokens + (requestedMax ?? 0),
    });
    let reservation: Reservation;
    try {
      reservation = await this.d.billing.reserve({ requestId: req.requestId, auth, endpoint: req.endpoint, model, promptTokens, requestedMaxTokens: requestedMax });
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
    const run = new RequestRun(this.d, req, model, stream, promptTokens, admission, reservation, maxField);
    return run.execute(attempts);
  }
}

/** State of one proxied request from the first upstream attempt to settlement. */
class RequestRun {
  private attemptsMade = 0;
  private finished = false;

  constructor(
    private readonly d: ProxyDeps,
    private readonly req: ProxyRequest,
    private readonly model: ResolvedModel,
    private readonly stream: boolean,
    private readonly promptTokens: number,
    private readonly admission: Admission,
    private readonly reservation: Reservation,
    private readonly maxField: "max_tokens" | "max_completion_tokens",
  ) {}

  async execute(attempts: Attempt[]): Promise<Response> {
    let lastError: AppError | null = null;
    let lastAttempt: Attempt | null = null;
    let lastStatus: number | null = null;
    for (const attempt of attempts) {
      lastAttempt = attempt;
      lastStatus = null;
      if (this.req.signal.aborted) break;
      this.attemptsMade++;
      const t0 = this.d.clock.now();
      let res: UpstreamResponse;
      try {
        const upstreamReq = buildUpstreamRequest(attempt.target, {
          path: PATHS[this.req.endpoint],
          body: this.req.body,
          upstreamModel: attempt.served.upstreamModel,
          stream: this.stream,
          maxTokens: this.reservation.maxTokens,
          maxTokensField: this.maxField,
        });
        res = await this.d.upstream.send(upstreamReq, attempt.target.timeouts, this.req.signal);
      } catch (e) {
        const f = e instanceof UpstreamFailure ? e : new UpstreamFailure("network", "upstream error", { cause: e });
        this.d.planner.report?.(attempt, { ok: false, retryable: f.kind !== "aborted", latencyMs: this.d.clock.now() - t0 });
        lastError = failureToError(f, attempt.target.id);
        this.d.logger.warn({ requestId: this.req.requestId, provider: attempt.target.id, kind: f.kind }, "upstream attempt failed");
        if (f.kind === "aborted") break;
        continue;
      }
      if (res.status >= 400) {
        const text = await readText(res).catch(() => "");
        const retryable = retryableStatus(res.status);
        lastStatus = res.status;
        this.d.planner.report?.(attempt, { ok: false, retryable, status: res.status, latencyMs: this.d.clock.now() - t0 });
        lastError = upstreamStatusError(res.status, text, attempt.target.id);
        this.d.logger.warn({ requestId: this.req.requestId, provider: attempt.target.id, status: res.status }, "upstream returned an error");
        if (!retryable) return this.fail(lastError, attempt, res.status);
        continue;
      }
      this.d.planner.report?.(attempt, { ok: true, retryable: false, status: res.status, latencyMs: this.d.clock.now() - t0 });
      return this.stream ? this.streamResponse(attempt, res) : this.jsonResponse(attempt, res);
    }
    if (this.req.signal.aborted) {
      await this.finalize({ status: "cancelled", served: attempts[0]?.served ?? null, usage: null, errorCode: "client_closed" });
      throw new AppError("invalid_request", "client closed the request");
    }
    const err = lastError ?? new AppError("upstream_unavailable", "No upstream could serve the request");
    return this.fail(err, lastAttempt, lastStatus);
  }

  private async fail(err: AppError, attempt: Attempt | null, upstreamStatus: number | null): Promise<never> {
    await this.finalize({ status: "failed", served: attempt?.served ?? null, usage: null, errorCode: err.code, upstreamStatus });
    throw err;
  }

  private baseHeaders(served: ServedBy, contentType: string): Headers {
    const h = new Headers({
      "content-type": contentType,
      "x-request-id": this.req.requestId,
      "x-router-log-id": this.req.requestId,
      "x-gateway-provider": served.providerId,
      "x-gateway-model": served.upstreamModel,
    });
    for (const [k, v] of Object.entries(this.admission.headers)) h.set(k, v);
    for (const [k, v] of Object.entries(this.reservation.headers)) h.set(k, v);
    return h;
  }

  private async jsonResponse(attempt: Attempt, res: UpstreamResponse): Promise<Response> {
    let text: string;
    try {
      text = await readText(res);
    } catch (e) {
      const f = e instanceof UpstreamFailure ? e : new UpstreamFailure("network", "upstream body error", { cause: e });
      return this.fail(failureToError(f, attempt.target.id), attempt, res.status);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.fail(new AppError("upstream_error", `Upstream ${attempt.target.id} returned a body that is not JSON`), attempt, res.status);
    }
    const usage = parseUsage(json.usage) ?? estimatedUsage(this.promptTokens, countTokens(completionText(json)));
    const settled = await this.finalize({ status: "completed", served: attempt.served, usage, upstreamStatus: res.status });
    if (json.usage && typeof json.usage === "object") {
      const u = json.usage as Record<string, unknown>;
      delete u.cost_details;
      if (settled) u.cost = Number(settled.costDisplay);
    } else if (settled && this.req.endpoint !== "embeddings") {
      json.usage = { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens, cost: Number(settled.costDisplay), estimated: true };
    }
    return new Response(JSON.stringify(json), { status: 200, headers: this.baseHeaders(attempt.served, "application/json") });
  }

  private streamResponse(attempt: Attempt, res: UpstreamResponse): Response {
    const clientWantsUsage = (this.req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const tap = new SseTap({
      clientWantsUsage,
      decorateUsage: (usage, raw) => {
        delete raw.cost_details;
        raw.cost = Number(this.reservation.quote(usage, attempt.served).costDisplay);
      },
    });
    let ttftMs: number | null = null;
    const iterator = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const done = (outcome: "completed" | "cancelled" | "failed", errorCode?: string) => {
      res.finish();
      const usage = tap.usage ?? estimatedUsage(this.promptTokens, countTokens(tap.producedText()));
      void this.finalize({ status: outcome, served: attempt.served, usage, ttftMs, errorCode, upstreamStatus: res.status }).catch((e) =>
        this.d.logger.error({ requestId: this.req.requestId, err: (e as Error).message }, "stream finalization failed"),
      );
    };
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            const next = await iterator.next();
            if (next.done) {
              const rest = tap.flush();
              if (rest) controller.enqueue(enc.encode(rest));
              controller.close();
              done("completed");
              return;
            }
            const out = tap.push(next.value);
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
            const f = e instanceof UpstreamFailure ? e : new UpstreamFailure("network", "upstream stream error", { cause: e });
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
    return new Response(body, { status: 200, headers: this.baseHeaders(attempt.served, "text/event-stream; charset=utf-8") });
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
      meta: billingError ? { billing_error: billingError } : null,
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

/** Upstream error statuses → our errors. Client errors keep their status and the upstream message (sanitised). */
function upstreamStatusError(status: number, text: string, providerId: string): AppError {
  let message = "";
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === "string" ? j.error : j.error?.message ?? j.message;
    if (typeof m === "string") message = sanitize(m);
  } catch {
    /* non-JSON error body: not shown */
  }
  if (status === 401 || status === 403) {
    return new AppError("upstream_error", `Upstream ${providerId} rejected the gateway's credentials`, { status: 502 });
  }
  if (status === 404) return new AppError("model_not_found", message || `Upstream ${providerId} does not know this model`);
  if (status === 413) return new AppError("payload_too_large", message || "Request too large for the upstream");
  if (status >= 400 && status < 500 && status !== 429 && status !== 408) {
    return new AppError("invalid_request", message || `Upstream ${providerId} rejected the request`, { status });
  }
  return new AppError("upstream_error", `Upstream ${providerId} returned HTTP ${status}${message ? `: ${message}` : ""}`, { details: { upstream_status: status } });
}

/** Upstream messages can echo credentials or internal URLs; keep them short and scrub key-like tokens. */
function sanitize(m: string): string {
  return m
    .replace(/(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, "[redacted]")
    .replace(/Bearer\s+\S+/gi, "Bearer [redacted]")
    .slice(0, 500);
}
