import type { TokenUsage } from "./types.js";

interface UpstreamUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
  cost?: number;
}

const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);

/** OpenAI-shaped `usage` object → TokenUsage; null when it carries no token counts. */
export function parseUsage(u: unknown): TokenUsage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as UpstreamUsage;
  const prompt = n(x.prompt_tokens);
  const completion = n(x.completion_tokens) ?? 0;
  if (prompt === undefined && n(x.total_tokens) === undefined) return null;
  const p = prompt ?? Math.max(0, (n(x.total_tokens) ?? 0) - completion);
  const usage: TokenUsage = { promptTokens: p, completionTokens: completion, totalTokens: n(x.total_tokens) ?? p + completion, estimated: false };
  const cached = n(x.prompt_tokens_details?.cached_tokens);
  if (cached !== undefined) usage.cachedTokens = cached;
  const reasoning = n(x.completion_tokens_details?.reasoning_tokens);
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  if (typeof x.cost === "number" && Number.isFinite(x.cost) && x.cost >= 0) usage.upstreamCostUsd = x.cost;
  return usage;
}

export function estimatedUsage(promptTokens: number, completionTokens: number): TokenUsage {
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
}
