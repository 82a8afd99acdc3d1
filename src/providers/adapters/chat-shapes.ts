import type { TokenUsage } from "../../contracts/request.js";

/**
 * Pieces shared by the adapters that translate OpenAI's chat shape to another wire format
 * (Anthropic Messages, Gemini generateContent): the field table type, content-part readers and the
 * OpenAI chunk/usage builders their answers are turned into.
 */

/** What an adapter does with one request field of OpenAI's chat body. */
export interface FieldRule {
  field: string;
  action: "forwarded" | "renamed" | "translated" | "dropped";
  /** Where it goes upstream (renamed / translated). */
  to?: string;
  note?: string;
}

/** OpenRouter-only request fields: no native upstream accepts them. */
export const OPENROUTER_ONLY_FIELDS = ["models", "provider", "transforms", "usage", "route", "plugins", "prompt", "debug"] as const;

/** OpenAI fields that neither Anthropic nor Gemini has an equivalent for. */
export const OPENAI_ONLY_FIELDS = [
  "frequency_penalty",
  "presence_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "seed",
  "service_tier",
  "store",
  "modalities",
  "audio",
  "prediction",
  "web_search_options",
  "stream_options",
  "metadata",
  "functions",
  "function_call",
  "min_p",
  "top_a",
  "repetition_penalty",
  "verbosity",
] as const;

export function dropped(fields: readonly string[], note: string): FieldRule[] {
  return fields.map((field) => ({ field, action: "dropped" as const, note }));
}

export type ChatMessage = {
  role?: unknown;
  content?: unknown;
  name?: unknown;
  tool_calls?: unknown;
  tool_call_id?: unknown;
  reasoning?: unknown;
  reasoning_details?: unknown;
};

export type ContentPart = Record<string, unknown> & { type?: unknown };

export type ToolCall = { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A message's content as parts (a string is one text part). */
export function partsOf(content: unknown): ContentPart[] {
  if (typeof content === "string") return content ? [{ type: "text", text: content }] : [];
  if (Array.isArray(content)) return content.filter(isObject) as ContentPart[];
  return [];
}

/** The text of a content value (string, or the text parts joined). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  return partsOf(content)
    .map((p) => (typeof p.text === "string" ? p.text : ""))
    .join("");
}

/** `data:image/png;base64,AAAA` → its media type and base64 payload; null for other URLs. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1]!, data: m[2]! } : null;
}

/** The image URL of an OpenAI `image_url` part (`{image_url: {url}}` or the short `{image_url: "…"}`). */
export function imageUrlOf(p: ContentPart): string | null {
  const v = p.image_url;
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.url === "string") return v.url;
  return null;
}

/** A tool call's arguments (a JSON string in OpenAI's shape) as an object; `{}` when unreadable. */
export function argumentsObject(args: unknown): Record<string, unknown> {
  if (isObject(args)) return args;
  if (typeof args !== "string" || !args.trim()) return {};
  try {
    const v = JSON.parse(args) as unknown;
    return isObject(v) ? v : { value: v };
  } catch {
    return {};
  }
}

/** `stop` (a string or a list) as a list, empty strings dropped. */
export function stopList(stop: unknown): string[] | null {
  const list = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop.filter((s): s is string => typeof s === "string") : [];
  const clean = list.filter((s) => s.length > 0);
  return clean.length ? clean : null;
}

export function finiteNumber(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** The output cap the request asks for: the pipeline's cap wins, then the client's own field. */
export function requestedMaxTokens(body: Record<string, unknown>, pipelineCap: number | null): number | null {
  if (pipelineCap !== null) return pipelineCap;
  for (const f of ["max_tokens", "max_completion_tokens"]) {
    const v = body[f];
    if (typeof v === "number" && Number.isInteger(v) && v > 0) return v;
  }
  return null;
}

/** Token counts in OpenAI's `usage` shape (the gateway's own reader, parseUsage, reads it back). */
export function openAiUsage(u: Pick<TokenUsage, "promptTokens" | "completionTokens" | "cachedTokens" | "cacheWriteTokens" | "reasoningTokens">): Record<string, unknown> {
  const usage: Record<string, unknown> = {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
  if (u.cachedTokens !== undefined || u.cacheWriteTokens !== undefined) {
    const d: Record<string, number> = {};
    if (u.cachedTokens !== undefined) d.cached_tokens = u.cachedTokens;
    if (u.cacheWriteTokens !== undefined) d.cache_write_tokens = u.cacheWriteTokens;
    usage.prompt_tokens_details = d;
  }
  if (u.reasoningTokens !== undefined) usage.completion_tokens_details = { reasoning_tokens: u.reasoningTokens };
  return usage;
}

/** Counts an upstream reports: non-negative integers, anything else read as 0. */
export function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

export interface ChunkHead {
  id: string;
  created: number;
  model: string;
}

/** One `chat.completion.chunk` payload for choice `index`. */
export function chunk(head: ChunkHead, delta: Record<string, unknown>, finishReason: string | null = null, index = 0): string {
  return JSON.stringify({ id: head.id, object: "chat.completion.chunk", created: head.created, model: head.model, choices: [{ index, delta, finish_reason: finishReason }] });
}

/** The closing usage-only chunk (`choices: []`), as OpenAI sends it with include_usage. */
export function usageChunk(head: ChunkHead, usage: Record<string, unknown>): string {
  return JSON.stringify({ id: head.id, object: "chat.completion.chunk", created: head.created, model: head.model, choices: [], usage });
}

/** An error event in OpenAI's shape (what OpenAI-compatible streams send mid-stream). */
export function errorPayload(message: string, type: string, code: string | number | null): string {
  return JSON.stringify({ error: { message, type, code } });
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
