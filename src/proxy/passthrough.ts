import type { ServerResponse } from "node:http";
import type { Catalog } from "../catalog/index.js";
import type { AuthContext, BillingHooks, RateLimitHooks, ResolvedModel } from "../contracts/request.js";
import type { Clock } from "../core/clock.js";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { RequestLogWriter } from "../logs/request-log-writer.js";
import { adapterFor, estimatedUsage, joinUrl, upstreamModelName, type ProviderTarget, type UpstreamRequest } from "../providers/index.js";
import { toCandidates, withAccountKey, type AccountUpstreamKeys, type UpstreamAttempt } from "../routing/attempt.js";
import { runWithFallback, type AttemptOutcome } from "../routing/fallback.js";
import { toUpstreamAttempt } from "../routing/planner.js";
import type { Router } from "../routing/router.js";
import { MeteredRequest } from "./metered-request.js";
import { openUpstream } from "./open-upstream.js";
import { PassthroughTap, usageOfJson } from "./passthrough-tap.js";
import { checkModelName, headerSafe } from "./request-checks.js";
import { assertKeyAllows, holdTtlOf, type Resilience } from "./service.js";
import type { StreamProgressHooks } from "./stream-progress.js";
import { relayUpstream } from "./stream-relay.js";
import { promptTokens } from "./prompt-count.js";
import { classifyError, type UpstreamClient, type UpstreamResponse } from "./upstream.js";
import { failureToError } from "./upstream-errors.js";

/**
 * Pass-through of the OpenAI-compatible endpoints the gateway does not model itself (images,
 * audio, moderations, rerank, responses) and of the allowed paths of the generic
 * `/api/v1/openrouter/*` proxy. The same metered request as chat (rate limits, hold, request
 * log, fallback and breakers); billed from the upstream's usage or cost, or for a stream that
 * ends without it, from what was delivered. Bodies are forwarded byte for byte, except that a
 * JSON body's `model` becomes the route's upstream model (and the adapter adds its extras).
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
  inflight?: { count: number };
  /** Stream progress recorded on the hold before output is sent (see stream-progress.ts). */
  progress?: StreamProgressHooks;
  /** Per-account OpenRouter keys (src/upstream-keys); absent = the provider's key for everyone. */
  accountKeys?: AccountUpstreamKeys;
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
  /** Node's response under @hono/node-server: streams are written to it directly. */
  sink?: ServerResponse;
}

/** Response headers worth forwarding from the upstream (never its cookies or auth challenges). */
const FORWARD_HEADERS = ["content-type", "content-disposition", "cache-control"];

export class PassthroughService {
  constructor(private readonly d: PassthroughDeps) {}

  async handle(req: PassthroughRequest): Promise<Response> {
    const json = parseJsonBody(req);
    const modelName = typeof json?.model === "string" && json.model ? checkModelName(json.model) : null;
    const model = this.resolve(modelName, req.preferOpenRouter);
    if (!model) throw new AppError("upstream_unavailable", "No upstream provider is configured for this endpoint");
    const { auth } = req;
    if (modelName) assertKeyAllows(auth, model, modelName);
    // Reading metadata (GET) is free; anything else holds what billing asks for the model.
    const billed = req.method !== "GET" && req.method !== "HEAD";
    const prepared = billed ? await this.d.billing.prepare({ auth, endpoint: "passthrough", model }) : null;
    const providers = this.d.providers();
    let attempts: UpstreamAttempt[] = [];
    for (const a of this.d.router.plan(model, null, { includeOpen: true }).attempts) {
      const t = providers.get(a.providerId);
      if (t?.enabled) attempts.push(toUpstreamAttempt(a, t));
    }
    const keyed = withAccountKey(this.d.accountKeys, auth.accountId, attempts);
    attempts = Array.isArray(keyed) ? keyed : await keyed;
    if (attempts.length === 0) throw new AppError("upstream_unavailable", "No upstream provider is available for this endpoint");

    const endpointLabel = req.path.split("?")[0]!;
    const metered = await MeteredRequest.admit(this.d, {
      requestId: req.requestId,
      auth,
      endpoint: "passthrough",
      modelId: model.id,
      requestedModel: modelName ?? endpointLabel,
      stream: json?.stream === true,
      startedAt: req.startedAt,
      providerId: attempts[0]!.target.id,
      estimatedTokens: 0,
      logMeta: { path: endpointLabel },
    });
    try {
      await metered.reserve(prepared, { promptTokens: 0, requestedMaxTokens: null, holdTtlMs: holdTtlOf(this.d.resilience, attempts) });
      metered.bounds = { promptTokens: null, outputTokens: metered.reservation?.outputTokens ?? null };
      return await this.forward(req, json, modelName, attempts, metered);
    } catch (e) {
      void metered.finish({ status: req.signal.aborted ? "cancelled" : "failed", served: null, usage: null, errorCode: e instanceof AppError ? e.code : "internal_error" });
      throw e;
    }
  }

  private async forward(req: PassthroughRequest, json: Record<string, unknown> | null, modelName: string | null, attempts: UpstreamAttempt[], metered: MeteredRequest): Promise<Response> {
    let lastStatus: number | null = null;
    const r = this.d.resilience;
    const result = await runWithFallback(
      toCandidates(attempts),
      async (c): Promise<AttemptOutcome<UpstreamResponse>> => {
        const t = c.attempt.target;
        const adapter = adapterFor(t);
        const out = await openUpstream(
          { upstream: this.d.upstream, logger: this.d.logger, requestId: req.requestId, providerId: t.id, adapter, signal: req.signal },
          () => this.upstreamRequest(req, c.attempt, json, modelName),
          t.timeouts,
        );
        lastStatus = out.ok ? out.value.status : out.failure.kind === "http" ? out.failure.status : null;
        return out;
      },
      { policy: r.policy, budget: r.budget, breakers: r.breakers, rng: r.rng, clock: this.d.clock, signal: req.signal, startedAt: req.startedAt },
    );
    metered.attempts = result.attempts;
    if (!result.ok) {
      await metered.finish({ status: req.signal.aborted ? "cancelled" : "failed", served: null, usage: null, upstreamStatus: lastStatus, errorCode: result.error.code });
      throw result.error;
    }
    const attempt = result.attempt.attempt;
    const served = attempt.served;
    const res = result.value;
    const headers: Record<string, string> = { "x-request-id": req.requestId, "x-gateway-provider": served.providerId };
    const servedModel = headerSafe(served.upstreamModel);
    if (servedModel) headers["x-gateway-model"] = servedModel;
    for (const h of FORWARD_HEADERS) {
      const v = res.headers[h];
      if (typeof v === "string") headers[h] = v;
    }
    Object.assign(headers, metered.headers());
    const ctype = headers["content-type"] ?? "";

    if (!ctype.includes("text/event-stream")) {
      // JSON (usage read from it) or binary (audio): buffered, both are bounded by the upstream's answer.
      let buf: Buffer;
      try {
        buf = Buffer.from(await res.body.arrayBuffer());
      } catch (e) {
        const f = classifyError(e);
        void result.settle(f.kind === "aborted");
        await metered.finish({ status: "failed", served, usage: null, upstreamStatus: res.status, errorCode: "upstream_error" });
        throw new AppError(f.kind.startsWith("timeout") ? "upstream_timeout" : "upstream_error", "The upstream provider failed while sending its answer");
      } finally {
        res.finish();
      }
      void result.settle(true);
      // No usage reported → nothing billed: the gateway can't count what an image or a sound costs.
      const usage = ctype.includes("json") ? usageOfJson(buf) : null;
      await metered.finish({ status: "completed", served, usage, upstreamStatus: res.status });
      return new Response(buf, { status: res.status, headers });
    }

    // A stream (responses API): forwarded as it comes, metered as it goes, billed at the end from
    // its last usage event, or from what was delivered when none came (client gone, upstream cut).
    const progress = this.d.progress;
    const tap = new PassthroughTap(metered.reservation?.outputTokens ?? null);
    const inflight = this.d.inflight;
    if (inflight) inflight.count++;
    void progress?.start(req.requestId, { promptTokens: 0, maxTokens: metered.reservation?.outputTokens ?? null }).catch(() => undefined);
    const hooks = {
      requestId: req.requestId,
      signal: req.signal,
      onFirstContent: () => undefined,
      errorOf: (e: unknown) => failureToError(classifyError(e), served.providerId, true),
      stoppedError: () => new AppError("insufficient_quota", "The output reached what this request's hold covers; the stream was ended and what was delivered is billed."),
      beforeSend: progress ? () => progress.report(req.requestId, tap.meter.tokens()) : undefined,
      onEnd: (outcome: "completed" | "cancelled" | "failed", errorCode?: string) => {
        progress?.end(req.requestId);
        if (inflight) inflight.count--;
        void result.settle(outcome !== "failed" || tap.stopped);
        const reported = tap.usage && !tap.stopped ? tap.usage : null;
        const delivering = tap.meter.deliveredFor(reported ? Math.min(reported.completionTokens, metered.bounds.outputTokens ?? Infinity) : null);
        // The local prompt count (off the event loop for a big prompt) only when it is needed.
        const needPrompt = json && (reported ? reported.promptTokens === 0 : tap.meter.tokens() > 0);
        void Promise.all([needPrompt ? promptTokens(json) : null, delivering])
          .then(([local, delivered]) => {
            const usage = reported ?? (delivered > 0 ? estimatedUsage(local ?? 0, delivered) : null);
            return metered.finish({ status: outcome, served, usage, deliveredCompletion: delivered, localPrompt: local === null ? null : () => local, upstreamStatus: res.status, errorCode });
          })
          .catch(() => undefined);
      },
    };
    return relayUpstream(req.sink, res.status, headers, res, [], (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator](), tap, hooks);
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

  private upstreamRequest(req: PassthroughRequest, attempt: UpstreamAttempt, json: Record<string, unknown> | null, modelName: string | null): UpstreamRequest {
    const t = attempt.target;
    let body: string | Uint8Array | undefined;
    if (json) body = JSON.stringify(adapterFor(t).passthroughBody(json, modelName !== null ? upstreamModelName(t, attempt.served.upstreamModel || modelName) : null));
    else if (req.body && req.body.length) body = req.body;
    const headers: Record<string, string> = { ...t.headers };
    if (req.contentType) headers["content-type"] = req.contentType;
    if (req.accept) headers.accept = req.accept;
    if (t.apiKey) headers.authorization = `Bearer ${t.apiKey}`;
    return {
      url: joinUrl(t.baseUrl, req.path),
      method: req.method as UpstreamRequest["method"],
      headers,
      // undici sends bytes as they are (multipart uploads); the shared type only names strings.
      body: body as string | undefined,
    };
  }
}

function parseJsonBody(req: PassthroughRequest): Record<string, unknown> | null {
  if (!(req.contentType ?? "").includes("application/json") || !req.body || !req.body.length) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(req.body).toString("utf8"));
  } catch {
    throw new AppError("invalid_json", "Request body is not valid JSON");
  }
  return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
}
