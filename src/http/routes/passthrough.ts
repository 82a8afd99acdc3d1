import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../../core/errors.js";
import { parseClientJson } from "../body-limits.js";
import { readJsonObject } from "../body.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { apiKeyAuth } from "../middleware/api-key-auth.js";
import { didAuthenticator } from "../middleware/did-auth.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

/**
 * OpenAI-compatible endpoints the gateway forwards as they are (images, audio, moderations,
 * rerank, responses), and seed 004's generic OpenRouter proxy `<METHOD> /api/v1/openrouter/*`.
 * The chat/completions/embeddings paths of the generic proxy take the full pipeline
 * (routing, metering, billing); everything else goes through routing/passthrough.ts.
 */
const ENDPOINTS = [
  ["/v1/images/generations", "Image generation"],
  ["/v1/images/edits", "Image edit (multipart)"],
  ["/v1/images/variations", "Image variations (multipart)"],
  ["/v1/audio/speech", "Text to speech (binary audio)"],
  ["/v1/audio/transcriptions", "Speech to text (multipart)"],
  ["/v1/audio/translations", "Speech translation (multipart)"],
  ["/v1/moderations", "Moderation"],
  ["/v1/rerank", "Rerank (Cohere/Jina-style, as the upstream offers it)"],
  ["/v1/responses", "OpenAI Responses API (streams with `stream: true`)"],
] as const;

const PROXIED = { "chat/completions": "chat.completions", completions: "completions", embeddings: "embeddings" } as const;

const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });
const security = [{ bearerAuth: [] }];

export function createPassthroughRoutes(deps: AppDeps) {
  const app = createRouter();
  const auth = apiKeyAuth(deps, { scope: "inference", alternatives: [didAuthenticator(deps, "inference")] });

  const forward = async (c: Context<AppEnv>, path: string, preferOpenRouter: boolean) => {
    const svc = deps.passthrough;
    if (!svc) throw new AppError("service_unavailable", "pass-through is not enabled in this process");
    const method = c.req.method.toUpperCase();
    if (method !== "GET" && method !== "POST" && method !== "DELETE") throw new AppError("invalid_request", `Method ${method} is not forwarded`);
    const hasBody = method !== "GET" && method !== "DELETE";
    const body = hasBody ? new Uint8Array(await c.req.arrayBuffer()) : null;
    // JSON bodies go out almost as they came: the same depth and steering-field limits as the chat path.
    if (body && body.length && (c.req.header("content-type") ?? "").includes("json")) {
      parseClientJson(Buffer.from(body).toString("utf8"), { maxDepth: deps.settings.maxJsonDepth });
    }
    const q = new URL(c.req.url).search;
    return svc.handle({
      requestId: c.get("requestId"),
      auth: c.get("auth"),
      method,
      path: path + q,
      contentType: c.req.header("content-type") ?? null,
      accept: c.req.header("accept") ?? null,
      body,
      signal: c.req.raw.signal,
      startedAt: c.get("startedAt"),
      preferOpenRouter,
    });
  };

  for (const [path, summary] of ENDPOINTS) {
    app.use(path, auth);
    app.openAPIRegistry.registerPath(
      createRoute({
        method: "post",
        path,
        tags: ["Inference (pass-through)"],
        summary,
        description: "Forwarded to the model's upstream as is; billed when the upstream reports usage or cost.",
        security,
        request: { body: { content: { "application/json": { schema: z.looseObject({ model: z.string().optional() }) }, "multipart/form-data": { schema: z.any() } } } },
        responses: { 200: { description: "The upstream's answer, unchanged" }, 401: err("Missing or invalid API key"), 402: err("Balance too low"), 502: err("Upstream error"), 504: err("Upstream timeout") },
      }),
    );
    app.post(path, (c) => forward(c, path.slice("/v1".length), false));
  }

  app.use("/api/v1/openrouter/*", auth);
  app.openAPIRegistry.registerPath(
    createRoute({
      method: "post",
      path: "/api/v1/openrouter/{path}",
      tags: ["Inference (pass-through)"],
      summary: "Generic OpenRouter proxy (seed 004): any OpenRouter API path, GET or POST",
      description:
        "`chat/completions`, `completions` and `embeddings` go through the gateway's own pipeline (routing, fallback, metering, billing); other paths are forwarded to the OpenRouter provider with `usage: {include: true}` and billed when it reports usage or cost. API key or DID authentication.",
      security,
      request: { params: z.object({ path: z.string().openapi({ example: "chat/completions" }) }) },
      responses: { 200: { description: "The upstream's answer" }, 401: err("Missing or invalid credentials") },
    }),
  );
  app.all("/api/v1/openrouter/*", async (c) => {
    const sub = c.req.path.slice("/api/v1/openrouter/".length).replace(/^\/+/, "");
    if (!sub || sub.split("/").some((s) => s === ".." || s === ".")) throw new AppError("not_found", "No such OpenRouter path");
    const endpoint = PROXIED[sub as keyof typeof PROXIED];
    if (endpoint && c.req.method === "POST") {
      const body = await readJsonObject(c, deps.settings.maxBodyBytes, { maxDepth: deps.settings.maxJsonDepth });
      return deps.proxy.handle({
        requestId: c.get("requestId"),
        auth: c.get("auth"),
        endpoint,
        body: body as Record<string, unknown>,
        signal: c.req.raw.signal,
        startedAt: c.get("startedAt"),
        cacheControl: c.req.header("x-gateway-cache") ?? null,
      });
    }
    return forward(c, `/${sub}`, true);
  });
  return app;
}
