import { getPath } from "hono/utils/url";

/**
 * OpenRouter's base URL is `https://openrouter.ai/api/v1`: a client moving from it changes only the
 * host. Every `/api/v1/<path>` is routed as `/v1/<path>` (chat, completions, embeddings, models,
 * key, credits, generation, …) by rewriting the path once, before routing, so there is one set of
 * handlers and middleware. Paths that are routes of their own under `/api/v1` keep their meaning:
 * the OpenRouter pass-through proxy (`/api/v1/openrouter/*`) and the DID usage view (`/api/v1/usage`).
 */
const OWN = ["/api/v1/openrouter", "/api/v1/usage"];

export function openRouterPath(path: string): string {
  if (!path.startsWith("/api/v1/")) return path;
  for (const p of OWN) if (path === p || path.startsWith(`${p}/`)) return path;
  return path.slice("/api".length);
}

/** The router's path of a request: hono's, with the `/api/v1` alias applied. */
export function gatewayPath(request: Request): string {
  return openRouterPath(getPath(request));
}
