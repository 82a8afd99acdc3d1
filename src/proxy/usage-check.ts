import type { TokenUsage } from "../contracts/request.js";

/** What one request can consume at most, known before it is sent. */
export interface UsageBounds {
  /** Prompt tokens at most (the model's context length); null when unknown. */
  promptTokens: number | null;
  /** Output tokens at most over all choices (what the hold covers, or max output × choices); null = unbounded. */
  outputTokens: number | null;
}

/**
 * A reported count this far under the answer's size is re-counted locally: natural text runs at
 * 2-5 bytes per token, so fewer than one token per 8 bytes is an under-report worth the tokenizer.
 * (Counting every answer would cost more CPU than the rest of the request path.)
 */
export const SUSPICIOUS_BYTES_PER_TOKEN = 8;

export type UsageAnomaly = "negative" | "prompt_above_request" | "output_above_request" | "output_below_delivered" | "prompt_below_request" | "charge_above_hold";

export interface CheckedUsage {
  /** The usage to bill and log: reported counts within the bounds, never below what was delivered. */
  usage: TokenUsage;
  anomaly: UsageAnomaly | null;
}

/**
 * An upstream's usage report is a claim: a lying or broken upstream must neither take a balance
 * (10^15 tokens for max_tokens 10) nor hide what it delivered ({0, 0} for 50 streamed tokens).
 * Reported counts are clamped to what the request could produce, raised to the local count of
 * what was delivered, and any correction is named so the log row can flag it.
 */
export function checkUsage(
  reported: TokenUsage,
  bounds: UsageBounds,
  deliveredCompletion: number | null,
  /** The local prompt count, asked for only when the report says the prompt was empty. */
  localPrompt: (() => number) | null = null,
): CheckedUsage {
  let anomaly: UsageAnomaly | null = reported.negative ? "negative" : null;
  let prompt = reported.promptTokens;
  let completion = reported.completionTokens;
  if (bounds.promptTokens !== null && prompt > bounds.promptTokens) {
    prompt = bounds.promptTokens;
    anomaly ??= "prompt_above_request";
  }
  if (prompt === 0 && localPrompt && bounds.promptTokens !== 0) {
    prompt = localPrompt();
    if (prompt > 0 && !reported.estimated) anomaly ??= "prompt_below_request";
  }
  if (bounds.outputTokens !== null && completion > bounds.outputTokens) {
    completion = bounds.outputTokens;
    anomaly ??= "output_above_request";
  }
  if (deliveredCompletion !== null && deliveredCompletion > completion) {
    completion = bounds.outputTokens !== null ? Math.min(deliveredCompletion, bounds.outputTokens) : deliveredCompletion;
    if (!reported.estimated) anomaly ??= "output_below_delivered";
  }
  if (prompt === reported.promptTokens && completion === reported.completionTokens && !reported.negative) return { usage: reported, anomaly };
  const usage: TokenUsage = { ...reported, promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion };
  delete usage.negative;
  if (usage.cachedTokens !== undefined) usage.cachedTokens = Math.min(usage.cachedTokens, prompt);
  if (usage.cacheWriteTokens !== undefined) usage.cacheWriteTokens = Math.min(usage.cacheWriteTokens, prompt - (usage.cachedTokens ?? 0));
  if (usage.reasoningTokens !== undefined) usage.reasoningTokens = Math.min(usage.reasoningTokens, completion);
  return { usage, anomaly };
}
