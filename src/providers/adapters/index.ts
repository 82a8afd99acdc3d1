import type { BuildRequestInput, InferenceEndpoint, ProviderAdapter } from "../adapter.js";
import type { ProviderTarget, UpstreamRequest } from "../types.js";
import { OPENAI_PATHS, OpenAICompatibleAdapter } from "./openai-compatible.js";
import { OpenRouterAdapter } from "./openrouter.js";
import { AnthropicAdapter } from "./anthropic.js";
import { GeminiAdapter } from "./gemini.js";

const openai = new OpenAICompatibleAdapter();
const openrouter = new OpenRouterAdapter();
const anthropic = new AnthropicAdapter();
const gemini = new GeminiAdapter();

/** The adapter of a provider type; unknown types speak OpenAI's format. */
export function adapterFor(target: Pick<ProviderTarget, "type">): ProviderAdapter {
  switch (target.type) {
    case "openrouter":
      return openrouter;
    case "anthropic":
      return anthropic;
    case "gemini":
      return gemini;
    default:
      return openai;
  }
}

/** One inference request named by its OpenAI path (`/chat/completions`), built by the target's adapter. */
export function buildUpstreamRequest(target: ProviderTarget, input: Omit<BuildRequestInput, "endpoint"> & { path: string }): UpstreamRequest {
  const endpoint = (Object.keys(OPENAI_PATHS) as InferenceEndpoint[]).find((e) => OPENAI_PATHS[e] === input.path) ?? "chat.completions";
  return adapterFor(target).buildRequest(target, { ...input, endpoint });
}
