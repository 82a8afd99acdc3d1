import { StringDecoder } from "node:string_decoder";
import type { Catalog } from "../catalog/index.js";
import type { Clock } from "../core/clock.js";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { RequestLogWriter } from "../logs/request-log-writer.js";
import { joinUrl, upstreamModelName, type ProviderTarget, type UpstreamRequest } from "../providers/index.js";
import { toCandidates, type Attempt as ProxyAttempt } from "../proxy/attempts.js";
import type { Resilience } from "../proxy/service.js";
import type { AuthContext, BillingHooks, RateLimitHooks, Reservation, ResolvedModel, TokenUsage } from "../proxy/types.js";
import { classifyError, UpstreamFailure, type UpstreamClient, type UpstreamResponse } from "../proxy/upstream.js";
import { parseUsage } from "../proxy/usage.js";
import { runWithFallback, type AttemptOutcome } from "./fallback.js";
import { toProxyAttempt } from "./planner.js";
import type { Router } from "./router.js";

/**
 * Pass-through of the OpenAI-compatible endpoints the gateway does not model itself (images,
 * audio, moderations, rerank, responses) and of seed 004's generic `/api/v1/openrouter/*` proxy.
 * Same authentication, rate limits, request log and fallback/breakers as the main proxy; billed
 * only when the upstream reports usage or cost (otherwise the hold is released: nothing is
 * invented). Bodies are forwarded byte for byte, except that a JSON body's `model` becomes the
 * route's upstream model and OpenRouter is asked to include its cost.
 */
export interface PassthroughDeps {
  catalog: Pick<Catalog, "resolve">;
  router: Router;
  providers: () => ReadonlyMap<string, ProviderTarget>;
  upstream: UpstreamClient;
  billing: BillingHooks;
  rateLimit: RateLimitHooks;
  logs: RequestLogWriter;
  resilience: Resilience;
  logger: Logger;
  clock: Clock;
}

export interface PassthroughRequest {
  requestId: string;
  auth: AuthContext;
  method: string;
  /** Upstream path after the provider's base URL, with the query string (`/images/generations`). */
  path: string;
  contentType: string | null;
  accept: string | null;
  body: Uint8Array | null;
  signal: AbortSignal;
  startedAt: number;
  /** Prefer an OpenRouter provider when the body names no model (the `/api/v1/openrouter/*` proxy). */
  preferOpenRouter: boolean;
}

/** Response headers worth forwarding from the upstream (never its cookies or auth challenges). */
const FORWARD_HEADERS = ["content-type", "content-disposition", "cache-control"];

export class PassthroughService {
  constructor(private readonly d: PassthroughDeps) {}

  async handle(req: PassthroughRequest): Promise<Response> {
    const isJson = (req.contentType ?? "").includes("application/json");
    let json: Record<string, unknown> | null = null;
    if (isJson && req.body && req.body.length) {
      try {
        const parsed = JSON.parse(Buffer.from(req.body).toString("utf8")) as unknown;
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
      } catch {
        throw new AppError("invalid_json", "Request body is not valid JSON");
      }
    }
    const modelName = typeof json?.model === "string" && json.model ? json.model : null;
    const model = this.resolve(modelName, req.preferOpenRouter);
    if (!model) throw new AppError("upstream_unavailable", "No upstream provider is configured for this endpoint");
    const { auth } = req;
    if (modelName && auth.allowedModels && !auth.allowedModels.includes(model.id) && !auth.allowedModels.includes(modelName)) {
      throw new AppError("model_not_allowed", `This API key may not use the model \`${modelName}\``, { param: "model" });
    }
    const providers = this.d.providers();
    const attempts: ProxyAttempt[] = [];
    for (const a of this.d.router.plan(model, null, { includeOpen: true }).attempts) {
      const t = providers.get(a.providerId);
      if (t?.enabled) attempts.push(toProxyAttempt(a, t));
    }
    if (attempts.length === 0) throw new AppError("upstream_unavailable", "No upstream provider is available for this endpoint");

    const admission = await this.d.rateLimit.admit({ requestId: req.requestId, auth, model: model.id, providerId: attempts[0]!.target.id, estimatedTokens: 0 });
    // Reading metadata (GET) is free; anything else holds what billing asks for an unpriced call.
    let reservation: Reservation | null = null;
    if (req.method !== "GET" && req.method !== "HEAD") {
      try {
        reservation = await this.d.billing.reserve({ requestId: req.requestId, auth, endpoint: "passthrough", model, promptTokens: 0, requestedMaxTokens: null });
      } catch (e) {
        admission.done(0);
        throw e;
      }
    }
    const endpointLabel = req.path.split("?")[0]!;
    this.d.logs.begin({
      id: req.requestId,
      accountId: auth.accountId,
      apiKeyId: auth.keyId,
      endpoint: "passthrough",
      requestedModel: modelName ?? endpointLabel,
      // The log writer completes rows without touching `stream`: say it up front.
      stream: json?.stream === true,
      status: "pending",
      meta: { path: endpointLabel },
      createdAt: new Date(req.startedAt),
    });

    let finished = false;
    const finish = async (o: { status: "completed" | "failed" | "cancelled"; attempt: ProxyAttempt | null; usage: TokenUsage | null; upstreamStatus: number | null; errorCode?: string; attempts: number; stream?: boolean }) => {
      if (finished) return;
      finished = true;
      let settled: Awaited<ReturnType<Reservation["settle"]>> | null = null;
      let billingError: string | undefined;
      try {
        if (reservation) {
          if (o.usage && o.attempt && (o.usage.totalTokens > 0 || o.usage.upstreamCostUsd)) settled = await reservation.settle(o.usage, o.attempt.served);
          else await reservation.release();
        }
      } catch (e) {
        billingError = (e as Error).message;
        this.d.logger.error({ requestId: req.requestId, err: billingError }, "pass-through settlement failed; hold left for the sweeper");
      }
      admission.done(o.usage?.totalTokens ?? 0);
      const now = this.d.clock.now();
      this.d.logs.finish({
        id: req.requestId,
        accountId: auth.accountId,
        apiKeyId: auth.keyId,
        endpoint: "passthrough",
        requestedModel: modelName ?? endpointLabel,
        servedModel: o.attempt?.served.upstreamModel || null,
        providerId: o.attempt?.served.providerId ?? null,
        upstreamAccountId: o.attempt?.served.upstreamAccountId ?? null,
        stream: o.stream ?? false,
        status: o.status,
        promptTokens: o.usage?.promptTokens ?? null,
        completionTokens: o.usage?.completionTokens ?? null,
        totalTokens: o.usage?.totalTokens ?? null,
        estimated: false,
        latencyMs: now - req.startedAt,
        upstreamStatus: o.upstreamStatus,
        errorCode: o.errorCode ?? null,
        upstreamCostMicros: settled?.upstreamCostMicros ?? null,
        priceMicros: settled?.priceMicros ?? null,
        profitMicros: settled ? settled.priceMicros - settled.upstreamCostMicros : null,
        attempts: o.attempts,
        meta: { path: endpointLabel, ...(billingError ? { billing_error: billingError } : {}) },
        createdAt: new Date(req.startedAt),
        completedAt: new Date(now),
      });
    };

    let lastStatus: number | null = null;
    const candidates = toCandidates(attempts);
    const r = this.d.resilience;
    let result: Awaited<ReturnType<typeof runWithFallback<UpstreamResponse, (typeof candidates)[number]>>>;
    try {
      result = await runWithFallback(
        candidates,
        async (c): Promise<AttemptOutcome<UpstreamResponse>> => {
          const out = await this.tryOnce(req, c.attempt, json, modelName !== null);
          lastStatus = out.ok ? out.value.status : out.failure.kind === "http" ? out.failure.status : null;
          return out;
        },
        { policy: r.policy, budget: r.budget, breakers: r.breakers, rng: r.rng, clock: this.d.clock, signal: req.signal, startedAt: req.startedAt },
      );
    } catch (e) {
      // A local failure (building the request): nothing reached the upstream; release what was held.
      await finish({ status: "failed", attempt: null, usage: null, upstreamStatus: null, errorCode: e instanceof AppError ? e.code : "internal_error", attempts: 0 });
      throw e;
    }
    if (!result.ok) {
      await finish({ status: req.signal.aborted ? "cancelled" : "failed", attempt: null, usage: null, upstreamStatus: lastStatus, errorCode: result.error.code, attempts: result.attempts });
      throw result.error;
    }
    const attempt = result.attempt.attempt;
    const res = result.value;
    const headers = new Headers({
      "x-request-id": req.requestId,
      "x-gateway-provider": attempt.served.providerId,
    });
    if (attempt.served.upstreamModel) headers.set("x-gateway-model", attempt.served.upstreamModel);
    for (const h of FORWARD_HEADERS) {
      const v = res.headers[h];
      if (typeof v === "string") headers.set(h, v);
    }
    for (const [k, v] of Object.entries(admission.headers)) headers.set(k, v);
    if (reservation) for (const [k, v] of Object.entries(reservation.headers)) headers.set(k, v);
    const ctype = typeof res.headers["content-type"] === "string" ? (res.headers["content-type"] as string) : "";

    if (!ctype.includes("text/event-stream")) {
      // JSON (usage read from it) or binary (audio): buffered, both are bounded by the upstream's answer.
      let buf: Buffer;
      try {
        buf = Buffer.from(await res.body.arrayBuffer());
      } catch (e) {
        const f = classifyError(e);
        void result.settle(f.kind === "aborted");
        await finish({ status: "failed", attempt, usage: null, upstreamStatus: res.status, errorCode: "upstream_error", attempts: result.attempts });
        throw new AppError(f.kind.startsWith("timeout") ? "upstream_timeout" : "upstream_error", "The upstream provider failed while sending its answer");
      } finally {
        res.finish();
      }
      void result.settle(true);
      const usage = ctype.includes("json") ? usageOfJson(buf) : null;
      await finish({ status: "completed", attempt, usage, upstreamStatus: res.status, attempts: result.attempts });
      return new Response(buf, { status: res.status, headers });
    }

    // A stream (responses API): forwarded as it comes; the last usage seen in it is billed at the end.
    const scan = new UsageScanner();
    const iterator = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const end = (status: "completed" | "failed" | "cancelled", errorCode?: string) => {
      res.finish();
      void result.settle(status !== "failed");
      void finish({ status, attempt, usage: scan.usage, upstreamStatus: res.status, errorCode, attempts: result.attempts, stream: true }).catch(() => undefined);
    };
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            const next = await iterator.next();
            if (next.done) {
              controller.close();
              end("completed");
              return;
            }
            scan.push(next.value);
            controller.enqueue(next.value);
          } catch (e) {
            if (req.signal.aborted) {
              controller.error(e);
              end("cancelled", "client_closed");
              return;
            }
            const f = e instanceof UpstreamFailure ? e : classifyError(e);
            const code = f.kind.startsWith("timeout") ? "upstream_timeout" : "upstream_error";
            const frame = { error: { message: "The upstream provider failed mid-stream", type: "api_error", code, param: null, request_id: req.requestId } };
            controller.enqueue(enc.encode(`data: ${JSON.stringify(frame)}\n\n`));
            controller.close();
            end("failed", code);
          }
        },
        cancel: async () => {
          end("cancelled", "client_closed");
          await iterator.return?.().catch(() => undefined);
          res.body.destroy();
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status: res.status, headers });
  }

  /** The model's routes, or the default provider (OpenRouter first when asked) for model-less calls. */
  private resolve(modelName: string | null, preferOpenRouter: boolean): ResolvedModel | null {
    if (modelName) return this.d.catalog.resolve(modelName);
    const enabled = [...this.d.providers().values()].filter((p) => p.enabled);
    const p = (preferOpenRouter ? enabled.find((x) => x.type === "openrouter") : undefined) ?? enabled[0];
    if (!p) return null;
    return {
      id: `passthrough/${p.id}`,
      requested: "",
      routes: [{ providerId: p.id, upstreamModel: "", priority: 1, weight: 1, price: null }],
      contextLength: null,
      maxOutput: null,
      passthrough: true,
    };
  }

  private async tryOnce(req: PassthroughRequest, attempt: ProxyAttempt, json: Record<string, unknown> | null, hasModel: boolean): Promise<AttemptOutcome<UpstreamResponse>> {
    const t = attempt.target;
    let body: string | Uint8Array | undefined;
    if (json) {
      const out: Record<string, unknown> = { ...json };
      if (hasModel) out.model = upstreamModelName(t, attempt.served.upstreamModel || String(json.model));
      if (t.type === "openrouter") out.usage = { ...(typeof json.usage === "object" && json.usage ? (json.usage as object) : {}), include: true };
      body = JSON.stringify(out);
    } else if (req.body && req.body.length) body = req.body;
    const headers: Record<string, string> = { ...t.headers };
    if (req.contentType) headers["content-type"] = req.contentType;
    if (req.accept) headers.accept = req.accept;
    if (t.apiKey) headers.authorization = `Bearer ${t.apiKey}`;
    const upstreamReq: UpstreamRequest = {
      url: joinUrl(t.baseUrl, req.path),
      method: req.method as UpstreamRequest["method"],
      headers,
      // undici sends bytes as they are (multipart uploads); the shared type only names strings.
      body: body as string | undefined,
    };
    let res: UpstreamResponse;
    try {
      res = await this.d.upstream.send(upstreamReq, t.timeouts, req.signal);
    } catch (e) {
      return { ok: false, failure: { kind: classifyError(e).kind } };
    }
    if (res.status >= 400) {
      let text = "";
      try {
        text = await res.body.text();
      } catch {
        /* the status says enough */
      } finally {
        res.finish();
      }
      const ra = res.headers["retry-after"];
      return { ok: false, failure: { kind: "http", status: res.status, body: text, retryAfter: Array.isArray(ra) ? ra[0] : ra } };
    }
    return { ok: true, value: res };
  }
}

/** OpenAI chat usage, or the input/output shape of the responses and images APIs. */
export function usageOf(u: unknown): TokenUsage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as { input_tokens?: unknown; output_tokens?: unknown; total_tokens?: unknown; cost?: unknown };
  if (x.input_tokens === undefined && x.output_tokens === undefined) return parseUsage(u);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);
  const input = num(x.input_tokens);
  const output = num(x.output_tokens);
  const cost = typeof x.cost === "number" && Number.isFinite(x.cost) && x.cost >= 0 ? x.cost : undefined;
  if (input === undefined && output === undefined && cost === undefined) return null;
  const usage: TokenUsage = {
    promptTokens: input ?? 0,
    completionTokens: output ?? 0,
    totalTokens: num(x.total_tokens) ?? (input ?? 0) + (output ?? 0),
    estimated: false,
  };
  if (cost !== undefined) usage.upstreamCostUsd = cost;
  return usage;
}

function usageOfJson(buf: Buffer): TokenUsage | null {
  try {
    const j = JSON.parse(buf.toString("utf8")) as { usage?: unknown; response?: { usage?: unknown } };
    return usageOf(j.usage) ?? usageOf(j.response?.usage);
  } catch {
    return null;
  }
}

/** Finds the last `usage` in an SSE stream (e.g. the responses API's `response.completed`). */
class UsageScanner {
  usage: TokenUsage | null = null;
  private pending = "";
  private readonly decoder = new StringDecoder("utf8");

  push(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    let i: number;
    while ((i = this.pending.indexOf("\n\n")) !== -1) {
      const frame = this.pending.slice(0, i);
      this.pending = this.pending.slice(i + 2);
      if (!frame.includes('"usage"')) continue;
      for (const line of frame.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const u = usageOfJson(Buffer.from(line.slice(5).trim()));
        if (u) this.usage = u;
      }
    }
    // A frame never needs more than this much look-back; bound the buffer against a hostile upstream.
    if (this.pending.length > 1_000_000) this.pending = this.pending.slice(-1_000_000);
  }
}
