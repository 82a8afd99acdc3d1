import { createRoute, z } from "@hono/zod-openapi";
import { UpstreamModelList } from "../../catalog/index.js";
import { AppError } from "../../core/errors.js";
import type { AppDeps } from "../deps.js";
import { ErrorResponse } from "../schemas.js";
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest, inferenceEntry } from "../inference-entry.js";
import { createRouter } from "../router.js";

const Model = z
  .object({
    id: z.string(),
    object: z.literal("model"),
    created: z.number(),
    owned_by: z.string(),
    name: z.string().optional(),
    context_length: z.number().nullable().optional(),
    pricing: z.object({ prompt: z.string(), completion: z.string(), unit: z.string() }).nullable().optional(),
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
    200: {
      description: "A chat completion, or an SSE stream of chunks",
      content: { "application/json": { schema: z.looseObject({ id: z.string(), choices: z.array(z.any()), usage: z.any().optional() }) }, "text/event-stream": { schema: z.string() } },
    },
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
  responses: { 200: { description: "A completion or an SSE stream", content: { "application/json": { schema: z.looseObject({}) } } }, ...errors },
});

const embeddingsRoute = createRoute({
  method: "post",
  path: "/v1/embeddings",
  tags: ["Inference"],
  summary: "Embeddings",
  security,
  request: { body: { content: { "application/json": { schema: EmbeddingRequest } }, required: true } },
  responses: { 200: { description: "Embeddings", content: { "application/json": { schema: z.looseObject({}) } } }, ...errors },
});

const listModelsRoute = createRoute({
  method: "get",
  path: "/v1/models",
  tags: ["Models"],
  summary: "List models",
  security,
  responses: { 200: json(z.object({ object: z.literal("list"), data: z.array(Model) }), "Models"), 401: errors[401] },
});

const getModelRoute = createRoute({
  method: "get",
  path: "/v1/models/{id}",
  tags: ["Models"],
  summary: "One model (ids contain `/`, e.g. `openai/gpt-4o-mini`)",
  security,
  request: { params: z.object({ id: z.string().openapi({ example: "openai/gpt-4o-mini" }) }) },
  responses: { 200: json(Model, "Model"), 401: errors[401], 404: errors[404] },
});

/** Per-1M USD price → OpenRouter-style per-token USD string. */
function perToken(microsPerM: bigint | undefined): string {
  if (microsPerM === undefined) return "0";
  // micro-USD per 1M tokens = 1e-12 USD per token; render exactly.
  const s = microsPerM.toString().padStart(13, "0");
  const whole = s.slice(0, -12);
  const frac = s.slice(-12).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

export function createOpenAIRoutes(deps: AppDeps) {
  const app = createRouter();
  const modelView = (id: string) => {
    const m = deps.catalog.get(id);
    if (!m) return null;
    return {
      id: m.id,
      object: "model" as const,
      created: 0,
      owned_by: m.id.includes("/") ? m.id.split("/")[0]! : (m.routes[0]?.providerId ?? "gateway"),
      name: m.name ?? m.id,
      context_length: m.contextLength,
      pricing: m.price ? { prompt: perToken(m.price.inputMicrosPerM), completion: perToken(m.price.outputMicrosPerM), unit: "USD per token (upstream cost)" } : null,
    };
  };

  app.openAPIRegistry.registerPath(chatRoute);
  app.openAPIRegistry.registerPath(completionRoute);
  app.openAPIRegistry.registerPath(embeddingsRoute);
  app.post("/v1/chat/completions", inferenceEntry(deps, "chat.completions"));
  app.post("/v1/completions", inferenceEntry(deps, "completions"));
  app.post("/v1/embeddings", inferenceEntry(deps, "embeddings"));
  // Without a `models` list every model passes through to the first provider, so its own list is
  // the honest answer (e.g. OPENROUTER_API_KEY alone lists OpenRouter's models).
  const upstreamList = new UpstreamModelList({
    target: () => [...deps.providers.values()].find((p) => p.enabled),
    clock: deps.clock,
    logger: deps.logger,
  });
  app.openapi(listModelsRoute, async (c) => {
    const configured = deps.catalog.models();
    if (configured.length === 0) return c.json({ object: "list" as const, data: (await upstreamList.list()) as never }, 200);
    const data = configured.map((m) => modelView(m.id)).filter((m): m is NonNullable<typeof m> => m !== null);
    return c.json({ object: "list" as const, data }, 200);
  });
  // Model ids contain "/", which an OpenAPI `{id}` segment can't match: a regex route serves it
  // and the OpenAPI registry documents it.
  app.openAPIRegistry.registerPath(getModelRoute);
  app.get("/v1/models/:id{.+}", (c) => {
    // hono has already percent-decoded the segment once; decoding again would turn `%25` into a URIError (500).
    const id = c.req.param("id");
    const m = modelView(id);
    if (!m) throw new AppError("model_not_found", `The model \`${id}\` does not exist`, { param: "id" });
    return c.json(m, 200);
  });
  return app;
}
