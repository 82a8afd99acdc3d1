import type { ProviderTarget } from "./types.js";

export function joinUrl(base: string, path: string): string {
  return base.endsWith("/") ? base.slice(0, -1) + path : base + path;
}

/** Upstream model name for a route: the provider's prefix (e.g. LiteLLM's `openrouter/`) + the model. */
export function upstreamModelName(target: Pick<ProviderTarget, "modelPrefix">, model: string): string {
  return target.modelPrefix && !model.startsWith(target.modelPrefix) ? target.modelPrefix + model : model;
}
