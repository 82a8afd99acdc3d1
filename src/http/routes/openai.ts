import { createRoute, z } from "@hono/zod-openapi";
import { customerCatalog, type CustomerModel } from "../../billing/customer-catalog.js";
import { effectiveLimits, modelAllowed } from "../../billing/prepare.js";
import { UpstreamModelList } from "../../catalog/index.js";
import type { AuthContext } from "../../contracts/request.js";
import { formatMoney } from "../../core/money.js";
import { FIELD_TABLES, fieldKindOf, type AdapterKind } from "../../providers/request-fields.js";
import { apiKeyAuth } from "../middleware/api-key-auth.js";
import { amount } from "../views/usage.js";
import { AppError } from "../../core/errors.js";
import type { AppDeps } from "../deps.js";
import { ChatCompletion, Completion, EmbeddingList, streamed } from "../inference-schemas.js";
import { ErrorResponse } from "../schemas.js";
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest, inferenceEntry } from "../inference-entry.js";
import { createRouter } from "../router.js";

const PerToken = z.string().openapi({ description: "Per token, in the account currency, as a decimal string (OpenRouter's convention)", example: "0.00000015" });

const Model = z
  .object({
    id: z.string(),
    object: z.literal("model"),
    created: z.number(),
    owned_by: z.string(),
    name: z.string().optional(),
    description: z.string().nullable().optional(),
    context_length: z.number().nullable().optional(),
    architecture: z.object({ modality: z.string(), input_modalities: z.array(z.string()), output_modalities: z.array(z.string()) }).optional(),
    pricing: z
      .object({ prompt: PerToken, completion: PerToken, request: z.string().optional().openapi({ description: "Per request (a model priced per request)" }) })
      .nullable()
      .optional()
      .openapi({ description: "What the caller pays (its tariff; the default tariff without a key), in the account currency" }),
    price: z
      .object({
        currency: z.string(),
        prompt_per_1m: z.number().nullable(),
        completion_per_1m: z.number().nullable(),
        per_request: z.number().nullable(),
      })
      .optional()
      .openapi({ description: "The same price as numbers: per 1M tokens, or per request" }),
    top_provider: z.object({ context_length: z.number().nullable(), max_completion_tokens: z.number().nullable(), is_moderated: z.boolean() }).optional(),
    supported_parameters: z.array(z.string()).optional().openapi({ description: "Request fields the model's upstream takes (besides model, messages/prompt/input)" }),
  })
  .openapi("Model");

const json = (schema: z.ZodTypeAny, description: string) => ({ content: { "application/json": { schema } }, description });
const errors = {
  400: json(ErrorResponse, "Invalid request"),
  401: json(ErrorResponse, "Missing or unknown API key"),
  402: json(ErrorResponse, "Balance too low"),
  403: json(ErrorResponse, "Key revoked/disabled or quota exceeded"),
  404: json(ErrorResponse, "Unknown model"),
  413: json(ErrorResponse, "Body too large"),
  429: json(ErrorResponse, "Rate limit exceeded"),
  502: json(ErrorResponse, "Upstream error"),
  504: json(ErrorResponse, "Upstream timeout"),
};
const security = [{ bearerAuth: [] }];

const chatRoute = createRoute({
  method: "post",
  path: "/v1/chat/completions",
  tags: ["Inference"],
  summary: "Chat completion (OpenAI-compatible; streams with `stream: true`)",
  security,
  request: { body: { content: { "application/json": { schema: ChatCompletionRequest } }, required: true } },
  responses: {
    200: streamed(ChatCompletion, "A chat completion, or an SSE stream of ChatCompletionChunk frames"),
    ...errors,
  },
});

const completionRoute = createRoute({
  method: "post",
  path: "/v1/completions",
  tags: ["Inference"],
  summary: "Text completion (legacy OpenAI API)",
  security,
  request: { body: { content: { "application/json": { schema: CompletionRequest } }, required: true } },
  responses: { 200: streamed(Completion, "A completion or an SSE stream"), ...errors },
});

const embeddingsRoute = createRoute({
  method: "post",
  path: "/v1/embeddings",
  tags: ["Inference"],
  summary: "Embeddings",
  security,
  request: { body: { content: { "application/json": { schema: EmbeddingRequest } }, required: true } },
  responses: { 200: json(EmbeddingList, "Embeddings"), ...errors },
});

const optionalKey: Array<Record<string, string[]>> = [{}, { bearerAuth: [] }];

const listModelsRoute = createRoute({
  method: "get",
  path: "/v1/models",
  tags: ["Models"],
  summary: "The models this gateway sells, with the price the caller pays (no key needed: the default tariff's price)",
  description:
    "Public like OpenRouter's. With an API key, prices are the key's tariff's; without one, the default tariff's. Models nobody priced are not listed (they are refused with `model_not_priced`) unless the operator set a per-request price for them.",
  security: optionalKey,
  responses: { 200: json(z.object({ object: z.literal("list"), data: z.array(Model) }), "Models"), 401: errors[401] },
});

const getModelRoute = createRoute({
  method: "get",
  path: "/v1/models/{id}",
  tags: ["Models"],
  summary: "One model (ids contain `/`, e.g. `openai/gpt-4o-mini`), priced as in the list",
  security: optionalKey,
  request: { params: z.object({ id: z.string().openapi({ example: "openai/gpt-4o-mini" }) }) },
  responses: { 200: json(Model, "Model"), 401: errors[401], 404: errors[404] },
});

/** Account micros per 1M tokens → per-token decimal string (1 micro per 1M tokens = 1e-12 per token), exact. */
export function perToken(microsPerM: bigint): string {
  const s = microsPerM.toString().padStart(13, "0");
  const whole = s.slice(0, -12);
  const frac = s.slice(-12).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

export function createOpenAIRoutes(deps: AppDeps) {
  const app = createRouter();
  // The catalog is public; a key (when sent) picks its tariff's prices, and a bad one is still a 401.
  app.use("/v1/models", apiKeyAuth(deps, { optional: true }));
  app.use("/v1/models/*", apiKeyAuth(deps, { optional: true }));
  const kindOf = (providerId: string | null) => fieldKindOf((providerId ? deps.providers.get(providerId)?.type : undefined) ?? [...deps.providers.values()][0]?.type ?? "openai");
  const view = (m: CustomerModel) => modelJson(m, deps.settings.currency, kindOf(m.providerId));
  const catalogFor = async (auth: AuthContext | undefined) => {
    const snap = await deps.billing.config.get();
    const tariff = auth ? effectiveLimits(snap, auth).tariff : snap.defaultTariff;
    return customerCatalog(snap, tariff, deps.catalog.models(), deps.billing.unpricedPriceMicros);
  };

  app.openAPIRegistry.registerPath(chatRoute);
  app.openAPIRegistry.registerPath(completionRoute);
  app.openAPIRegistry.registerPath(embeddingsRoute);
  app.post("/v1/chat/completions", inferenceEntry(deps, "chat.completions"));
  app.post("/v1/completions", inferenceEntry(deps, "completions"));
  app.post("/v1/embeddings", inferenceEntry(deps, "embeddings"));
  // Without a `models` list every model passes through to the first provider: with a per-request
  // price for unpriced models, the upstream's own list is what is for sale (e.g. OPENROUTER_API_KEY alone).
  const upstreamList = new UpstreamModelList({
    target: () => [...deps.providers.values()].find((p) => p.enabled),
    clock: deps.clock,
    logger: deps.logger,
  });
  app.openapi(listModelsRoute, async (c) => {
    const sold = await catalogFor(c.get("auth"));
    const data = sold.map(view);
    const perRequest = deps.billing.unpricedPriceMicros;
    if (deps.catalog.models().length === 0 && perRequest !== null) {
      const listed = new Set(data.map((m) => m.id));
      const auth = c.get("auth");
      const tariff = auth ? effectiveLimits(await deps.billing.config.get(), auth).tariff : (await deps.billing.config.get()).defaultTariff;
      for (const u of await upstreamList.list()) {
        if (listed.has(u.id) || !modelAllowed(tariff.allowedModels, u.id)) continue;
        data.push(view({ id: u.id, name: typeof u.name === "string" ? u.name : null, description: null, contextLength: typeof u.context_length === "number" ? u.context_length : null, maxOutput: null, providerId: null, perM: null, perRequestMicros: perRequest }));
      }
    }
    return c.json({ object: "list" as const, data }, 200);
  });
  // Model ids contain "/", which an OpenAPI `{id}` segment can't match: a regex route serves it
  // and the OpenAPI registry documents it.
  app.openAPIRegistry.registerPath(getModelRoute);
  app.get("/v1/models/:id{.+}", async (c) => {
    // hono has already percent-decoded the segment once; decoding again would turn `%25` into a URIError (500).
    const id = c.req.param("id");
    const canonical = deps.catalog.get(id)?.id ?? id;
    const m = (await catalogFor(c.get("auth"))).find((x) => x.id === canonical);
    if (!m) throw new AppError("model_not_found", `The model \`${id}\` does not exist`, { param: "id" });
    return c.json(view(m), 200);
  });
  return app;
}

/** Request fields besides the ones every call of the endpoint has: what a model "supports". */
const BASE_FIELDS = new Set(["model", "messages", "prompt", "input", "stream"]);

function modelJson(m: CustomerModel, currency: string, kind: AdapterKind) {
  const embedding = /embed/i.test(m.id);
  const micros = (v: bigint) => amount(v);
  const fields = FIELD_TABLES[kind].forwarded[embedding ? "embeddings" : "chat.completions"].filter((f) => !BASE_FIELDS.has(f));
  return {
    id: m.id,
    object: "model" as const,
    created: 0,
    owned_by: m.id.includes("/") ? m.id.split("/")[0]! : (m.providerId ?? "gateway"),
    name: m.name ?? m.id,
    description: m.description,
    context_length: m.contextLength,
    architecture: { modality: embedding ? "text->embedding" : "text->text", input_modalities: ["text"], output_modalities: [embedding ? "embedding" : "text"] },
    pricing: m.perM ? { prompt: perToken(m.perM.input), completion: perToken(m.perM.output) } : { prompt: "0", completion: "0", request: formatMoney(m.perRequestMicros ?? 0n) },
    price: {
      currency,
      prompt_per_1m: m.perM ? micros(m.perM.input) : null,
      completion_per_1m: m.perM ? micros(m.perM.output) : null,
      per_request: m.perM ? null : micros(m.perRequestMicros ?? 0n),
    },
    top_provider: { context_length: m.contextLength, max_completion_tokens: embedding ? null : m.maxOutput, is_moderated: false },
    supported_parameters: [...fields],
  };
}
