import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../core/errors.js";
import type { InboundDialect } from "../proxy/dialects/dialect.js";
import type { InferenceEndpoint } from "../proxy/service.js";
import { clientGoneSignal, nodeResponse, readJsonObject } from "./body.js";
import type { AppEnv } from "./context.js";
import type { AppDeps } from "./deps.js";
import { surelyValid } from "./inference-checks.js";
import { validationError } from "./router.js";

const Message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(z.any()), z.null()]).optional(),
});

const maxTokens = z.number().int().positive().optional();

/** OpenRouter's fallback list: the first entry is the model when `model` is left out, the rest are tried in order. */
const models = z
  .array(z.string().min(1))
  .min(1)
  .optional()
  .openapi({ description: "Fallback models, tried in order after `model` (OpenRouter's `models`). Without `model`, the first entry is the model. Every entry must be one this key may use and that has a price." });

export const ChatCompletionRequest = z
  .looseObject({
    model: z.string().min(1).openapi({ description: "The model; may be left out when `models` is given" }),
    models,
    messages: z.array(Message).min(1),
    stream: z.boolean().optional(),
    max_tokens: maxTokens,
    max_completion_tokens: maxTokens,
    temperature: z.number().min(0).max(2).optional(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  })
  .openapi("ChatCompletionRequest");

export const CompletionRequest = z
  .looseObject({
    model: z.string().min(1).openapi({ description: "The model; may be left out when `models` is given" }),
    models,
    prompt: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]),
    stream: z.boolean().optional(),
    max_tokens: maxTokens,
  })
  .openapi("CompletionRequest");

export const EmbeddingRequest = z
  .looseObject({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number()), z.array(z.array(z.number()))]),
  })
  .openapi("EmbeddingRequest");
const schemas = { "chat.completions": ChatCompletionRequest, completions: CompletionRequest, embeddings: EmbeddingRequest } as const;

/** OpenRouter's `models: [...]` without `model`: the first entry is the model (the rest stay fallbacks). */
function withModelFromList<T extends Record<string, unknown>>(raw: T): T {
  if (raw.model !== undefined || !Array.isArray(raw.models) || typeof raw.models[0] !== "string") return raw;
  return { ...raw, model: raw.models[0] };
}

/**
 * A parsed inference body as the pipeline takes it (the `models` list's first entry as the model
 * when `model` is left out), or the schema's 400. Shared by this entry and the inference front.
 */
export function checkedInferenceBody(endpoint: InferenceEndpoint, parsed: Record<string, unknown>): Record<string, unknown> {
  const raw = withModelFromList(parsed);
  // The schema runs only when the hand-written checks are not sure (its verdict and messages stand).
  if (surelyValid(endpoint, raw)) return raw;
  const checked = schemas[endpoint].safeParse(raw);
  if (!checked.success) throw validationError(checked.error.issues, "json");
  return checked.data as Record<string, unknown>;
}

/**
 * The one way into the inference pipeline from HTTP (`/v1/chat/completions` and friends, and the
 * same paths under `/api/v1/openrouter/`). It reads the body from Node's stream and validates it
 * here instead of through the route validator: hono's path builds a web Request per call, the
 * costliest step of the request path. The OpenAPI registry still documents the routes from the
 * same schemas.
 */
export function inferenceEntry(deps: AppDeps, endpoint: InferenceEndpoint) {
  return async (c: Context<AppEnv>) => {
    const body = checkedInferenceBody(endpoint, await readJsonObject(c, deps.settings.maxBodyBytes, { maxDepth: deps.settings.maxJsonDepth }));
    const res = await deps.proxy.handle({
      requestId: c.get("requestId"),
      auth: c.get("auth"),
      endpoint,
      body,
      signal: clientGoneSignal(c),
      startedAt: c.get("startedAt"),
      cacheControl: c.req.header("x-gateway-cache") ?? null,
      sink: nodeResponse(c),
    });
    c.set("requestIdSent", true);
    return res;
  };
}

/**
 * The way in for a client API translated to chat (Anthropic Messages, OpenAI Responses): the body
 * is checked against the API's own schema, translated by its dialect, checked again as the chat
 * body the pipeline runs, and answered in the dialect's shape. One pipeline: the same holds,
 * routing, metering, billing and log row as chat (the row names the dialect's endpoint).
 */
export function dialectEntry(deps: AppDeps, dialect: InboundDialect, schema: z.ZodType) {
  return async (c: Context<AppEnv>) => {
    const raw = await readJsonObject(c, deps.settings.maxBodyBytes, { maxDepth: deps.settings.maxJsonDepth });
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw validationError(parsed.error.issues, "json");
    let translated: Record<string, unknown>;
    // Refused for chat only: served when a route takes the API natively (the service drops the others).
    let untranslatable: AppError | undefined;
    try {
      translated = dialect.toChat(raw);
    } catch (e) {
      if (!(e instanceof AppError) || e.code !== "unsupported_parameter" || !dialect.untranslatable) throw e;
      translated = dialect.untranslatable(raw);
      untranslatable = e;
    }
    const chat = ChatCompletionRequest.safeParse(translated);
    if (!chat.success) throw validationError(chat.error.issues, "json");
    const res = await deps.proxy.handle({
      requestId: c.get("requestId"),
      auth: c.get("auth"),
      endpoint: "chat.completions",
      body: chat.data as Record<string, unknown>,
      signal: clientGoneSignal(c),
      startedAt: c.get("startedAt"),
      sink: nodeResponse(c),
      dialect: { api: dialect, clientBody: raw, ...(untranslatable ? { untranslatable } : {}) },
    });
    c.set("requestIdSent", true);
    return res;
  };
}
