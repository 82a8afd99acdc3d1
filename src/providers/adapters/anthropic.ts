import { AppError } from "../../core/errors.js";
import type { TokenUsage } from "../../contracts/request.js";
import type { BuildRequestInput, InferenceEndpoint, OpeningEvent, ProviderAdapter, SseEvent, StreamTranslator } from "../adapter.js";
import type { ProviderTarget, UpstreamRequest } from "../types.js";
import { parseUsage } from "../usage.js";
import { joinUrl } from "../url.js";
import {
  argumentsObject,
  chunk,
  count,
  dropped,
  errorPayload,
  finiteNumber,
  imageUrlOf,
  isObject,
  nowSeconds,
  OPENAI_ONLY_FIELDS,
  OPENROUTER_ONLY_FIELDS,
  openAiUsage,
  parseDataUrl,
  partsOf,
  requestedMaxTokens,
  stopList,
  usageChunk,
  type ChatMessage,
  type ChunkHead,
  type ContentPart,
  type FieldRule,
  type ToolCall,
} from "./chat-shapes.js";

/**
 * Anthropic's native Messages API (POST {base}/v1/messages). The client speaks OpenAI's chat
 * shape; the request is rebuilt field by field from ANTHROPIC_FIELDS (nothing else is sent, so an
 * OpenAI- or OpenRouter-only field never reaches Anthropic), the answer and its SSE events are
 * turned back into chat completions and chunks.
 */

export const ANTHROPIC_VERSION = "2023-06-01";

/** Anthropic requires max_tokens; this is sent when neither the client, the hold nor the model gives one (every Claude model accepts it). */
export const ANTHROPIC_FALLBACK_MAX_TOKENS = 4096;

/** The smallest thinking budget Anthropic accepts. */
const MIN_THINKING_BUDGET = 1024;

export const ANTHROPIC_FIELDS: readonly FieldRule[] = [
  { field: "model", action: "renamed", to: "model", note: "the route's upstream model name" },
  { field: "messages", action: "translated", to: "messages + system", note: "system/developer → system; tool → user tool_result; tool_calls → tool_use; image_url → image" },
  { field: "max_tokens", action: "renamed", to: "max_tokens", note: "required upstream: the hold's cap, else the model's max output" },
  { field: "max_completion_tokens", action: "renamed", to: "max_tokens" },
  { field: "stop", action: "renamed", to: "stop_sequences" },
  { field: "temperature", action: "forwarded" },
  { field: "top_p", action: "forwarded" },
  { field: "top_k", action: "forwarded" },
  { field: "stream", action: "forwarded" },
  { field: "tools", action: "translated", to: "tools", note: "{name, description, input_schema}; cache_control kept" },
  { field: "tool_choice", action: "translated", to: "tool_choice", note: "auto/none/required→any/{function}→{tool}" },
  { field: "parallel_tool_calls", action: "translated", to: "tool_choice.disable_parallel_tool_use" },
  { field: "user", action: "renamed", to: "metadata.user_id" },
  { field: "reasoning", action: "translated", to: "thinking", note: "OpenRouter's {max_tokens | effort | enabled | exclude}" },
  { field: "thinking", action: "forwarded", note: "Anthropic's own shape, as given" },
  { field: "reasoning_effort", action: "translated", to: "thinking" },
  { field: "n", action: "dropped", note: "one completion per request upstream" },
  { field: "response_format", action: "dropped", note: "no JSON mode upstream" },
  ...dropped(OPENAI_ONLY_FIELDS, "no Anthropic equivalent"),
  ...dropped(OPENROUTER_ONLY_FIELDS, "OpenRouter-only"),
];

type Block = Record<string, unknown>;
type AnthropicMessage = { role: "user" | "assistant"; content: Block[] };

/** One content part of a user/assistant/system message → an Anthropic block (null: nothing Anthropic reads). */
function blockOf(p: ContentPart): Block | null {
  let b: Block | null = null;
  if (p.type === "text" || (p.type === undefined && typeof p.text === "string")) {
    if (typeof p.text !== "string" || p.text === "") return null;
    b = { type: "text", text: p.text };
  } else if (p.type === "image_url") {
    const url = imageUrlOf(p);
    if (!url) return null;
    const data = parseDataUrl(url);
    b = { type: "image", source: data ? { type: "base64", media_type: data.mediaType, data: data.data } : { type: "url", url } };
  } else if (p.type === "image" || p.type === "document" || p.type === "tool_result" || p.type === "tool_use") {
    // Already Anthropic's shape (a client that knows its upstream).
    return p;
  } else return null;
  if (isObject(p.cache_control)) b.cache_control = p.cache_control;
  return b;
}

function blocksOf(content: unknown): Block[] {
  const out: Block[] = [];
  for (const p of partsOf(content)) {
    const b = blockOf(p);
    if (b) out.push(b);
  }
  return out;
}

/** OpenAI messages → Anthropic's system and alternating messages. */
export function toAnthropicMessages(messages: unknown): { system: string | Block[] | undefined; messages: AnthropicMessage[] } {
  const system: Block[] = [];
  const out: AnthropicMessage[] = [];
  const push = (role: "user" | "assistant", blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = out[out.length - 1];
    // Anthropic wants user and assistant turns to alternate; consecutive ones are one turn.
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const raw of Array.isArray(messages) ? messages : []) {
    if (!isObject(raw)) continue;
    const m = raw as ChatMessage;
    if (m.role === "system" || m.role === "developer") {
      system.push(...blocksOf(m.content).filter((b) => b.type === "text"));
    } else if (m.role === "user") {
      push("user", blocksOf(m.content));
    } else if (m.role === "assistant") {
      const blocks = blocksOf(m.content);
      for (const tc of Array.isArray(m.tool_calls) ? (m.tool_calls as ToolCall[]) : []) {
        if (!isObject(tc) || !tc.function || typeof tc.function.name !== "string") continue;
        blocks.push({ type: "tool_use", id: typeof tc.id === "string" ? tc.id : `toolu_${out.length}_${blocks.length}`, name: tc.function.name, input: argumentsObject(tc.function.arguments) });
      }
      push("assistant", blocks);
    } else if (m.role === "tool") {
      const content = typeof m.content === "string" ? m.content : blocksOf(m.content);
      push("user", [{ type: "tool_result", tool_use_id: typeof m.tool_call_id === "string" ? m.tool_call_id : "", content }]);
    }
  }
  let sys: string | Block[] | undefined;
  if (system.length > 0) sys = system.every((b) => b.cache_control === undefined) ? system.map((b) => b.text as string).join("\n\n") : system;
  return { system: sys, messages: out };
}

function toolsOf(tools: unknown): Block[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  const out: Block[] = [];
  for (const t of tools) {
    if (!isObject(t)) continue;
    const f = isObject(t.function) ? t.function : null;
    if (t.type === "function" && f && typeof f.name === "string") {
      const tool: Block = { name: f.name, input_schema: isObject(f.parameters) ? f.parameters : { type: "object", properties: {} } };
      if (typeof f.description === "string") tool.description = f.description;
      if (isObject(t.cache_control)) tool.cache_control = t.cache_control;
      out.push(tool);
    } else if (typeof t.type === "string" && t.type !== "function") {
      // Anthropic's server tools (web_search_…, bash_…) in their own shape.
      out.push(t);
    }
  }
  return out.length ? out : undefined;
}

function toolChoiceOf(choice: unknown, parallel: unknown): Block | undefined {
  let tc: Block | undefined;
  if (choice === "auto") tc = { type: "auto" };
  else if (choice === "none") tc = { type: "none" };
  else if (choice === "required") tc = { type: "any" };
  else if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") tc = { type: "tool", name: choice.function.name };
  if (parallel === false) {
    tc ??= { type: "auto" };
    if (tc.type !== "none") tc.disable_parallel_tool_use = true;
  }
  return tc;
}

const EFFORT_SHARE: Record<string, number> = { minimal: 0.1, low: 0.2, medium: 0.5, high: 0.8 };

/** OpenRouter's `reasoning` (or OpenAI's reasoning_effort) → Anthropic's thinking config; the budget stays below max_tokens. */
function thinkingOf(body: Record<string, unknown>, maxTokens: number): Block | undefined {
  if (isObject(body.thinking)) return body.thinking;
  const r = isObject(body.reasoning) ? body.reasoning : null;
  const effort = typeof r?.effort === "string" ? r.effort : typeof body.reasoning_effort === "string" ? body.reasoning_effort : null;
  let budget: number | null = null;
  if (r && typeof r.max_tokens === "number" && r.max_tokens > 0) budget = Math.floor(r.max_tokens);
  else if (effort && effort !== "none") budget = Math.floor(maxTokens * (EFFORT_SHARE[effort] ?? 0.5));
  else if (r?.enabled === true) budget = Math.floor(maxTokens * 0.5);
  if (budget === null || r?.enabled === false || effort === "none") return undefined;
  budget = Math.min(Math.max(budget, MIN_THINKING_BUDGET), maxTokens - 1);
  return budget >= MIN_THINKING_BUDGET ? { type: "enabled", budget_tokens: budget } : undefined;
}

/** The Messages API body for an OpenAI chat body. */
export function toAnthropicBody(input: BuildRequestInput): Record<string, unknown> {
  const b = input.body;
  const { system, messages } = toAnthropicMessages(b.messages);
  const maxTokens = requestedMaxTokens(b, input.maxTokens) ?? input.modelMaxOutput ?? ANTHROPIC_FALLBACK_MAX_TOKENS;
  const out: Record<string, unknown> = { model: input.upstreamModel, messages, max_tokens: maxTokens };
  if (system !== undefined) out.system = system;
  const stop = stopList(b.stop);
  if (stop) out.stop_sequences = stop;
  for (const k of ["temperature", "top_p", "top_k"] as const) {
    const v = finiteNumber(b[k]);
    if (v !== undefined) out[k] = v;
  }
  const tools = toolsOf(b.tools);
  if (tools) out.tools = tools;
  const tc = toolChoiceOf(b.tool_choice, b.parallel_tool_calls);
  if (tc && (tools || tc.type === "none")) out.tool_choice = tc;
  if (typeof b.user === "string" && b.user) out.metadata = { user_id: b.user };
  const thinking = thinkingOf(b, maxTokens);
  if (thinking) {
    out.thinking = thinking;
    // Anthropic refuses temperature/top_k with thinking on, and top_p below 0.95.
    delete out.temperature;
    delete out.top_k;
    if (typeof out.top_p === "number" && out.top_p < 0.95) delete out.top_p;
  }
  if (input.stream) out.stream = true;
  return out;
}

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

const ERROR_STATUS: Record<string, number> = {
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
function gatewayStatus(status: number): number {
  return status === 529 ? 503 : status;
}

/** Anthropic's `{type: "error", error: {type, message}}` → OpenAI's error body. */
function openAiErrorBody(body: string): string {
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

/** Anthropic's named SSE events → OpenAI chunks, usage kept across message_start and message_delta. */
export class AnthropicStreamTranslator implements StreamTranslator {
  private head: ChunkHead = { id: "msg", created: nowSeconds(), model: "" };
  private usage: Record<string, unknown> = {};
  /** Content block index → tool call index (OpenAI numbers tool calls on their own). */
  private readonly toolIndex = new Map<number, number>();
  private done = false;

  event(e: SseEvent): string[] {
    if (this.done) return [];
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(e.data) as Record<string, unknown>;
    } catch {
      return [];
    }
    const type = typeof j.type === "string" ? j.type : e.event;
    switch (type) {
      case "message_start": {
        const m = isObject(j.message) ? j.message : {};
        if (typeof m.id === "string") this.head.id = m.id;
        if (typeof m.model === "string") this.head.model = m.model;
        if (isObject(m.usage)) Object.assign(this.usage, m.usage);
        return [chunk(this.head, { role: "assistant", content: "" })];
      }
      case "content_block_start": {
        const b = isObject(j.content_block) ? j.content_block : {};
        const index = typeof j.index === "number" ? j.index : 0;
        if (b.type === "tool_use") {
          const k = this.toolIndex.size;
          this.toolIndex.set(index, k);
          return [chunk(this.head, { tool_calls: [{ index: k, id: b.id, type: "function", function: { name: b.name, arguments: "" } }] })];
        }
        if (b.type === "text" && typeof b.text === "string" && b.text) return [chunk(this.head, { content: b.text })];
        return [];
      }
      case "content_block_delta": {
        const d = isObject(j.delta) ? j.delta : {};
        if (d.type === "text_delta" && typeof d.text === "string") return [chunk(this.head, { content: d.text })];
        if (d.type === "thinking_delta" && typeof d.thinking === "string") return [chunk(this.head, { reasoning: d.thinking })];
        if (d.type === "input_json_delta" && typeof d.partial_json === "string") {
          const k = this.toolIndex.get(typeof j.index === "number" ? j.index : -1);
          if (k === undefined || d.partial_json === "") return [];
          return [chunk(this.head, { tool_calls: [{ index: k, function: { arguments: d.partial_json } }] })];
        }
        return [];
      }
      case "message_delta": {
        // Its usage is cumulative: output_tokens always, the input counts when Anthropic repeats them.
        if (isObject(j.usage)) for (const [k, v] of Object.entries(j.usage)) if (v !== null && v !== undefined) this.usage[k] = v;
        const d = isObject(j.delta) ? j.delta : {};
        const finish = finishReasonOf(d.stop_reason);
        return finish ? [chunk(this.head, {}, finish)] : [];
      }
      case "message_stop":
        return this.close();
      case "error": {
        this.done = true;
        const err = isObject(j.error) ? j.error : {};
        const etype = typeof err.type === "string" ? err.type : "api_error";
        return [errorPayload(typeof err.message === "string" ? err.message : "upstream error", etype, gatewayStatus(ERROR_STATUS[etype] ?? 502))];
      }
      default:
        // ping and event types added later.
        return [];
    }
  }

  end(): string[] {
    return this.done ? [] : this.close();
  }

  private close(): string[] {
    this.done = true;
    const u = anthropicUsage(this.usage);
    return [...(u ? [usageChunk(this.head, openAiUsage(u))] : []), "[DONE]"];
  }
}

export class AnthropicAdapter implements ProviderAdapter {
  buildRequest(target: ProviderTarget, input: BuildRequestInput): UpstreamRequest {
    if (input.endpoint !== "chat.completions") throw new AppError("invalid_request", `provider ${target.id} (Anthropic) serves chat completions only, not ${input.endpoint}`);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: input.stream ? "text/event-stream" : "application/json",
      "anthropic-version": ANTHROPIC_VERSION,
      ...target.headers,
    };
    if (target.apiKey) headers["x-api-key"] = target.apiKey;
    return { url: messagesUrl(target.baseUrl), method: "POST", headers, body: JSON.stringify(toAnthropicBody(input)) };
  }

  translateResponse(json: Record<string, unknown>, _endpoint: InferenceEndpoint): Record<string, unknown> {
    return json.type === "message" || Array.isArray(json.content) ? fromAnthropicMessage(json) : json;
  }

  streamTranslator(): StreamTranslator {
    return new AnthropicStreamTranslator();
  }

  /** The translated answer carries OpenAI's usage shape. */
  usage(u: unknown) {
    return parseUsage(u);
  }

  openingEvent(data: string): OpeningEvent {
    const out: OpeningEvent = { errorStatus: null, model: null };
    try {
      const j = JSON.parse(data) as { type?: unknown; error?: { type?: unknown }; message?: { model?: unknown } };
      if (j.type === "error") out.errorStatus = gatewayStatus(ERROR_STATUS[String(j.error?.type)] ?? 502);
      else if (typeof j.message?.model === "string" && j.message.model) out.model = j.message.model;
    } catch {
      /* not JSON: the translator skips it */
    }
    return out;
  }

  mapError(status: number, body: string) {
    return { status: gatewayStatus(status), body: openAiErrorBody(body) };
  }

  servedModel(planned: string): string {
    return planned;
  }

  passthroughBody(json: Record<string, unknown>, upstreamModel: string | null): Record<string, unknown> {
    return upstreamModel === null ? { ...json } : { ...json, model: upstreamModel };
  }
}

/** `{base}/v1/messages`; a base that already ends in /v1 is taken as it is. */
function messagesUrl(base: string): string {
  return joinUrl(base, /\/v1\/?$/.test(base) ? "/messages" : "/v1/messages");
}
