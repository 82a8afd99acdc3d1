import type { TokenUsage } from "../../contracts/request.js";
import { count, isObject, nowSeconds, openAiUsage } from "./chat-shapes.js";

// Anthropic's answers, usage and errors in OpenAI's shapes (anthropic.ts is the adapter).

const FINISH: Record<string, string> = { end_turn: "stop", stop_sequence: "stop", max_tokens: "length", tool_use: "tool_calls", pause_turn: "stop", refusal: "content_filter", model_context_window_exceeded: "length" };

export function finishReasonOf(stopReason: unknown): string | null {
  if (typeof stopReason !== "string") return null;
  return FINISH[stopReason] ?? "stop";
}

/** Anthropic's usage → TokenUsage: its input_tokens exclude cache reads and writes, OpenAI's prompt count includes them. */
export function anthropicUsage(u: unknown): TokenUsage | null {
  if (!isObject(u)) return null;
  if (u.input_tokens === undefined && u.output_tokens === undefined) return null;
  const read = count(u.cache_read_input_tokens);
  const write = count(u.cache_creation_input_tokens);
  const prompt = count(u.input_tokens) + read + write;
  const completion = count(u.output_tokens);
  const usage: TokenUsage = { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, estimated: false };
  if (u.cache_read_input_tokens !== undefined) usage.cachedTokens = read;
  if (u.cache_creation_input_tokens !== undefined) usage.cacheWriteTokens = write;
  return usage;
}

/** A non-stream Message → a chat.completion. */
export function fromAnthropicMessage(j: Record<string, unknown>): Record<string, unknown> {
  let text = "";
  let reasoning = "";
  const toolCalls: Record<string, unknown>[] = [];
  for (const b of Array.isArray(j.content) ? j.content : []) {
    if (!isObject(b)) continue;
    if (b.type === "text" && typeof b.text === "string") text += b.text;
    else if (b.type === "thinking" && typeof b.thinking === "string") reasoning += b.thinking;
    else if (b.type === "tool_use") toolCalls.push({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
  }
  const message: Record<string, unknown> = { role: "assistant", content: text || (toolCalls.length ? null : ""), refusal: null };
  if (reasoning) message.reasoning = reasoning;
  if (toolCalls.length) message.tool_calls = toolCalls;
  const usage = anthropicUsage(j.usage);
  const out: Record<string, unknown> = {
    id: typeof j.id === "string" ? j.id : "msg",
    object: "chat.completion",
    created: nowSeconds(),
    model: typeof j.model === "string" ? j.model : "",
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(j.stop_reason) ?? "stop" }],
  };
  if (usage) out.usage = openAiUsage(usage);
  return out;
}

export const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** 529 (overloaded) is Anthropic's own: the gateway treats it as the 503 it means. */
export function gatewayStatus(status: number): number {
  return status === 529 ? 503 : status;
}

/** Anthropic's `{type: "error", error: {type, message}}` → OpenAI's error body. */
export function openAiErrorBody(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { type?: unknown; message?: unknown } };
    if (isObject(j.error) && typeof j.error.message === "string") {
      return JSON.stringify({ error: { message: j.error.message, type: typeof j.error.type === "string" ? j.error.type : "api_error", code: typeof j.error.type === "string" ? j.error.type : null } });
    }
  } catch {
    /* not JSON: the classifier reads it as text */
  }
  return body;
}
