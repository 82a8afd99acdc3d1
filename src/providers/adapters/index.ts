import type { BuildRequestInput, InferenceEndpoint, ProviderAdapter } from "../adapter.js";
import type { ProviderTarget, UpstreamRequest } from "../types.js";
import { OPENAI_PATHS, OpenAICompatibleAdapter } from "./openai-compatible.js";
import { OpenRouterAdapter } from "./openrouter.js";

const openai = new OpenAICompatibleAdapter();
const openrouter = new OpenRouterAdapter();

/** The adapter of a provider type; unknown types speak OpenAI's format. */
export function adapterFor(target: Pick<ProviderTarget, "type">): ProviderAdapter {
  return target.type === "openrouter" ? openrouter : openai;
}

/** One inference request named by its OpenAI path (`/chat/completions`), built by the target's adapter. */
export function buildUpstreamRequest(target: ProviderTarget, input: Omit<BuildRequestInput, "endpoint"> & { path: string }): UpstreamRequest {
  const endpoint = (Object.keys(OPENAI_PATHS) as InferenceEndpoint[]).find((e) => OPENAI_PATHS[e] === input.path) ?? "chat.completions";
  return adapterFor(target).buildRequest(target, { ...input, endpoint });
}
