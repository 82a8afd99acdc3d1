import type { TokenUsage } from "../contracts/request.js";

interface UpstreamUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
  cost?: number;
}

const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);
const negative = (v: unknown): boolean => typeof v === "number" && v < 0;

/** OpenAI-shaped `usage` object → TokenUsage; null when it carries no token counts. */
export function parseUsage(u: unknown): TokenUsage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as UpstreamUsage;
  const prompt = n(x.prompt_tokens);
  const completion = n(x.completion_tokens) ?? 0;
  if (prompt === undefined && n(x.total_tokens) === undefined) {
    // Only negative counts: not usable, but not silence either (the caller flags it).
    if (negative(x.prompt_tokens) || negative(x.completion_tokens)) return { promptTokens: 0, completionTokens: 0, totalTokens: 0, estimated: false, negative: true };
    return null;
  }
  const p = prompt ?? Math.max(0, (n(x.total_tokens) ?? 0) - completion);
  const usage: TokenUsage = { promptTokens: p, completionTokens: completion, totalTokens: n(x.total_tokens) ?? p + completion, estimated: false };
  const cached = n(x.prompt_tokens_details?.cached_tokens);
  if (cached !== undefined) usage.cachedTokens = cached;
  // OpenRouter's name, and what the Anthropic adapter reports cache writes as.
  const cacheWrite = n(x.prompt_tokens_details?.cache_write_tokens);
  if (cacheWrite !== undefined) usage.cacheWriteTokens = cacheWrite;
  const reasoning = n(x.completion_tokens_details?.reasoning_tokens);
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  if (typeof x.cost === "number" && Number.isFinite(x.cost) && x.cost >= 0) usage.upstreamCostUsd = x.cost;
  if (negative(x.prompt_tokens) || negative(x.completion_tokens) || negative(x.total_tokens) || negative(x.cost)) usage.negative = true;
  return usage;
}

/** OpenAI chat usage, or the input/output shape of the responses and images APIs. */
export function usageOf(u: unknown): TokenUsage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as { input_tokens?: unknown; output_tokens?: unknown; total_tokens?: unknown; cost?: unknown };
  if (x.input_tokens === undefined && x.output_tokens === undefined) return parseUsage(u);
  const input = n(x.input_tokens);
  const output = n(x.output_tokens);
  const cost = typeof x.cost === "number" && Number.isFinite(x.cost) && x.cost >= 0 ? x.cost : undefined;
  if (input === undefined && output === undefined && cost === undefined) return null;
  const usage: TokenUsage = {
    promptTokens: input ?? 0,
    completionTokens: output ?? 0,
    totalTokens: n(x.total_tokens) ?? (input ?? 0) + (output ?? 0),
    estimated: false,
  };
  // The Responses API's breakdown (cached input, reasoning output), priced like chat's.
  const details = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});
  const inputDetails = details((u as { input_tokens_details?: unknown }).input_tokens_details);
  const cached = n(inputDetails.cached_tokens);
  if (cached !== undefined) usage.cachedTokens = cached;
  const cacheWrite = n(inputDetails.cache_write_tokens);
  if (cacheWrite !== undefined && cacheWrite > 0) usage.cacheWriteTokens = cacheWrite;
  const reasoning = n(details((u as { output_tokens_details?: unknown }).output_tokens_details).reasoning_tokens);
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  if (cost !== undefined) usage.upstreamCostUsd = cost;
  if (negative(x.input_tokens) || negative(x.output_tokens) || negative(x.cost)) usage.negative = true;
  return usage;
}

export function estimatedUsage(promptTokens: number, completionTokens: number): TokenUsage {
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
}
