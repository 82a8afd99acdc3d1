import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../../core/errors.js";
import { parseClientJson } from "../body-limits.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { apiKeyAuth } from "../middleware/api-key-auth.js";
import { didAuthenticator } from "../middleware/did-auth.js";
import { clientGoneSignal, nodeResponse } from "../body.js";
import { inferenceEntry } from "../inference-entry.js";
import { responsesEntry } from "./inbound-dialects.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

/**
 * OpenAI-compatible endpoints the gateway forwards as they are (images, audio, moderations,
 * rerank), and the OpenRouter-compatible proxy `<METHOD> /api/v1/openrouter/*`.
 * The chat/completions/embeddings and responses paths of that proxy take the inference pipeline
 * (responses translated to chat, routes/inbound-dialects.ts, so it is always billed); the other
 * allowed paths go through proxy/passthrough.ts. Nothing else is forwarded: the upstream key is
 * the operator's, and OpenRouter's account paths (`/key`, `/credits`, `/keys`, `/generation`, …)
 * would hand the operator's account to any client.
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
] as const;

const PROXIED = { "chat/completions": "chat.completions", completions: "completions", embeddings: "embeddings" } as const;

/** Inference paths the OpenRouter-compatible proxy forwards (POST), besides PROXIED. */
const FORWARDED_POST = new Set(["images/generations", "audio/speech", "audio/transcriptions", "moderations", "rerank"]);
/** Public catalogue reads (GET): the same for every key, nothing of the operator's account. */
const FORWARDED_GET = [/^models$/, /^models\/[^/]+\/[^/]+\/endpoints$/, /^providers$/];

function forwardedPath(method: string, sub: string): boolean {
  if (method === "POST") return FORWARDED_POST.has(sub);
  if (method === "GET") return FORWARDED_GET.some((r) => r.test(sub));
  return false;
}

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
      signal: clientGoneSignal(c),
      startedAt: c.get("startedAt"),
      preferOpenRouter,
      sink: nodeResponse(c),
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
      summary: "OpenRouter-compatible proxy: the inference paths (POST) and the public model list (GET)",
      description:
        "`chat/completions`, `completions`, `embeddings` and `responses` (translated to chat) go through the gateway's own pipeline (routing, fallback, metering, billing); `images/generations`, `audio/speech`, `audio/transcriptions`, `moderations` and `rerank` (POST) and `models`, `models/{author}/{slug}/endpoints`, `providers` (GET) are forwarded to the OpenRouter provider and billed from the usage it reports (streams: from what was delivered when it reports none). Any other path or method: 404. API key or DID authentication.",
      security,
      request: { params: z.object({ path: z.string().openapi({ example: "chat/completions" }) }) },
      responses: { 200: { description: "The upstream's answer" }, 401: err("Missing or invalid credentials"), 404: err("Path not forwarded") },
    }),
  );
  const entries = {
    "chat.completions": inferenceEntry(deps, "chat.completions"),
    completions: inferenceEntry(deps, "completions"),
    embeddings: inferenceEntry(deps, "embeddings"),
  };
  const responses = responsesEntry(deps);
  app.all("/api/v1/openrouter/*", async (c) => {
    const sub = c.req.path.slice("/api/v1/openrouter/".length).replace(/^\/+|\/+$/g, "");
    const method = c.req.method.toUpperCase();
    const endpoint = PROXIED[sub as keyof typeof PROXIED];
    if (endpoint && method === "POST") return entries[endpoint](c);
    if (sub === "responses" && method === "POST") return responses(c);
    if (!forwardedPath(method, sub)) throw new AppError("not_found", "This path is not forwarded by the gateway");
    return forward(c, `/${sub}`, true);
  });
  return app;
}
