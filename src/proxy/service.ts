import { holdTtlMs } from "../billing/hold-ttl.js";
import type { AuthContext, ResolvedModel } from "../contracts/request.js";
import { AppError } from "../core/errors.js";
import { responsesNative } from "../providers/index.js";
import { withAccountKey, type UpstreamAttempt } from "../routing/attempt.js";
import { LocalCircuitBreakers } from "../routing/circuit-breaker.js";
import { cacheDecision, responseCacheKey, type CachedResponse } from "../routing/response-cache.js";
import { DEFAULT_RETRY_POLICY, RetryBudget } from "../routing/retry.js";
import { serveCached } from "./cache-hit.js";
import { InferenceRun } from "./inference-run.js";
import { MeteredRequest } from "./metered-request.js";
import { checkModelName, checkServiceTier, requestedChoices, requestedMaxTokens } from "./request-checks.js";
import { promptTokenGuess, promptTokenUpperBound } from "./tokenizer.js";
import type { ProxyDeps, ProxyRequest, Resilience, ResolvedDeps } from "./proxy-deps.js";

export type { InferenceEndpoint, ProxyDeps, ProxyRequest, Resilience, ResolvedDeps } from "./proxy-deps.js";

/**
 * Chat, completions and embeddings: stateless checks first (model name, model, key and tariff
 * allow-lists, price), then the metered request (rate limit, cache, hold, pending log row), then
 * the upstream attempts of the plan, and one finish that settles and logs.
 */
export class ProxyService {
  private readonly d: ResolvedDeps;
  constructor(deps: ProxyDeps) {
    this.d = {
      ...deps,
      resilience: deps.resilience ?? { policy: DEFAULT_RETRY_POLICY, budget: new RetryBudget(undefined, deps.clock), breakers: new LocalCircuitBreakers(undefined, deps.clock) },
    };
  }

  async handle(req: ProxyRequest): Promise<Response> {
    const { body, auth } = req;
    const modelName = checkModelName(body.model);
    const model = this.d.catalog.resolve(modelName);
    if (!model) throw new AppError("model_not_found", `The model \`${modelName}\` does not exist`, { param: "model" });
    assertKeyAllows(auth, model, modelName);
    const stream = req.endpoint !== "embeddings" && body.stream === true;
    const max = requestedMaxTokens(body);
    const choices = req.endpoint === "embeddings" ? 1 : requestedChoices(body, this.d.maxChoices ?? 16);
    checkServiceTier(req.dialect?.clientBody ?? body);
    const fallbacks = this.fallbackModels(req, model);
    const prepared = await this.d.billing.prepare({ auth, endpoint: req.endpoint, model, ...(fallbacks.length ? { fallbacks } : {}) });
    // Holds use a cheap upper bound (bytes); exact local counting happens only when an estimate is needed.
    const promptTokens = promptTokenUpperBound(body);
    const plan = this.d.planner.plan(model, body, fallbacks.map((f) => f.model));
    const planned = withAccountKey(this.d.accountKeys, auth.accountId, plan);
    let attempts = Array.isArray(planned) ? planned : await planned;
    const untranslatable = req.dialect?.untranslatable;
    if (untranslatable) {
      // Only the routes that speak the client's API natively can serve what chat can't carry.
      attempts = attempts.filter((a) => responsesNative(a.target));
      if (attempts.length === 0) throw untranslatable;
    }
    if (attempts.length === 0) throw new AppError("upstream_unavailable", `No upstream is available for \`${modelName}\``);

    const metered = await MeteredRequest.admit(this.d, {
      requestId: req.requestId,
      auth,
      endpoint: req.dialect?.api.endpoint ?? req.endpoint,
      modelId: model.id,
      requestedModel: modelName,
      stream,
      startedAt: req.startedAt,
      providerId: attempts[0]!.target.id,
      estimatedTokens: promptTokenGuess(promptTokens) + (max.value ?? 0) * choices,
    });
    try {
      let cacheKey: string | null = null;
      // The cache holds chat answers; a dialect's answer is another shape (not cached).
      if (this.d.cache && !req.dialect && cacheDecision({ endpoint: req.endpoint, body, header: req.cacheControl, keyOptions: auth.keyOptions }).use) {
        cacheKey = responseCacheKey(req.endpoint, body, auth.accountId);
        const hit: CachedResponse | null = await this.d.cache.store.get(cacheKey);
        if (hit) return await serveCached(this.d, req, metered, prepared, hit);
      }
      await metered.reserve(prepared, { promptTokens, requestedMaxTokens: max.value, choices, stream, holdTtlMs: holdTtlOf(this.d.resilience, attempts) });
      const covered = metered.reservation?.outputTokens ?? null;
      // A prompt can't exceed the model's context (images and audio make bytes no bound for it);
      // the output can't exceed what was held, asked for, or the model's maximum, for every choice.
      metered.bounds = {
        promptTokens: model.contextLength,
        outputTokens: covered ?? (max.value !== null ? max.value * choices : model.maxOutput !== null ? model.maxOutput * choices : null),
      };
      return await new InferenceRun(this.d, req, model, metered, { stream, maxField: max.field, cacheKey, promptTokens }).execute(attempts);
    } catch (e) {
      // Whatever failed before an answer was committed: nothing is charged, the slot is given back.
      void metered.finish({ status: req.signal.aborted ? "cancelled" : "failed", served: null, usage: null, errorCode: e instanceof AppError ? e.code : "internal_error" });
      throw e;
    }
  }

  /**
   * OpenRouter's `models` fallbacks, read once for the request: each must be a model this key may
   * use (here) and its tariff allows and prices (billing.prepare, which also holds for the dearest of
   * them), like `model` itself, so a fallback never serves what the client could not ask for. The
   * planner gets the same list.
   */
  private fallbackModels(req: ProxyRequest, model: ResolvedModel): Array<{ model: ResolvedModel; param: string }> {
    const list = req.body.models;
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list) || list.length > MAX_MODELS_LIST) {
      throw new AppError("invalid_request", `\`models\` must be a list of at most ${MAX_MODELS_LIST} model names`, { param: "models" });
    }
    const seen = new Set([model.id, model.requested]);
    const out: Array<{ model: ResolvedModel; param: string }> = [];
    for (const [i, name] of list.entries()) {
      const param = `models.${i}`;
      const n = checkModelName(name, param);
      if (seen.has(n)) continue;
      seen.add(n);
      const m = this.d.catalog.resolve(n);
      if (!m) throw new AppError("model_not_found", `The model \`${n}\` does not exist`, { param });
      try {
        assertKeyAllows(req.auth, m, n);
      } catch (e) {
        if (e instanceof AppError) throw new AppError(e.code, e.message, { param });
        throw e;
      }
      // An alias of a model already listed adds nothing.
      if (m.id !== n && seen.has(m.id)) continue;
      seen.add(m.id);
      out.push({ model: m, param });
    }
    return out;
  }
}

/** Longest `models` list accepted (the planner tries the first few; OpenRouter takes a handful). */
const MAX_MODELS_LIST = 16;

/** The hold outlives the longest this request can take (its planned routes' timeouts × attempts + backoff). */
export function holdTtlOf(r: Resilience, attempts: readonly UpstreamAttempt[]): number {
  return holdTtlMs({ attemptTotalsMs: attempts.map((a) => a.target.timeouts.totalMs), maxAttempts: r.policy.maxAttempts, maxDelayMs: r.policy.maxDelayMs, deadlineMs: r.policy.deadlineMs, floorMs: 0 });
}

/** The key's own model list (the tariff's is billing's, in prepare). */
export function assertKeyAllows(auth: AuthContext, model: ResolvedModel, requested: string): void {
  if (auth.allowedModels && !auth.allowedModels.includes(model.id) && !auth.allowedModels.includes(requested)) {
    throw new AppError("model_not_allowed", `This API key may not use the model \`${requested}\``, { param: "model" });
  }
}
