import type { ProviderTarget, UpstreamRequest } from "./types.js";

export interface BuildRequestInput {
  /** Path after the base URL, e.g. `/chat/completions`. */
  path: string;
  /** The client's JSON body (unknown fields kept). Not mutated. */
  body: Record<string, unknown>;
  upstreamModel: string;
  stream: boolean;
  /** Set max_tokens upstream (billing's cap when the client sent none). */
  maxTokens: number | null;
  /** Field name the client used for the output cap, so we override the same one. */
  maxTokensField: "max_tokens" | "max_completion_tokens";
}

/**
 * OpenAI-compatible request for OpenRouter, LiteLLM, vLLM, Ollama, OpenAI and the mock.
 * Pure: no I/O. Always asks for the final usage chunk on streams, so metering never depends on
 * whether the client asked for it; OpenRouter is also asked to include its cost accounting.
 */
export function buildUpstreamRequest(target: ProviderTarget, input: BuildRequestInput): UpstreamRequest {
  const body: Record<string, unknown> = { ...input.body, model: input.upstreamModel };
  if (input.stream) {
    const so = (body.stream_options && typeof body.stream_options === "object" ? body.stream_options : {}) as Record<string, unknown>;
    body.stream_options = { ...so, include_usage: true };
  }
  if (input.maxTokens !== null) body[input.maxTokensField] = input.maxTokens;
  if (target.type === "openrouter") {
    const u = (body.usage && typeof body.usage === "object" ? body.usage : {}) as Record<string, unknown>;
    body.usage = { ...u, include: true };
  }
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: input.stream ? "text/event-stream" : "application/json",
    ...target.headers,
  };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return { url: joinUrl(target.baseUrl, input.path), method: "POST", headers, body: JSON.stringify(body) };
}

export function joinUrl(base: string, path: string): string {
  return base.endsWith("/") ? base.slice(0, -1) + path : base + path;
}

/** Upstream model name for a route: the provider's prefix (e.g. LiteLLM's `openrouter/`) + the model. */
export function upstreamModelName(target: Pick<ProviderTarget, "modelPrefix">, model: string): string {
  return target.modelPrefix && !model.startsWith(target.modelPrefix) ? target.modelPrefix + model : model;
}
