import type { BuildRequestInput } from "../adapter.js";
import {
  argumentsObject,
  dropped,
  finiteNumber,
  imageUrlOf,
  isObject,
  OPENAI_ONLY_FIELDS,
  OPENROUTER_ONLY_FIELDS,
  parseDataUrl,
  partsOf,
  requestedMaxTokens,
  stopList,
  type ChatMessage,
  type ContentPart,
  type FieldRule,
  type ToolCall,
} from "./chat-shapes.js";

// The Messages API request for an OpenAI chat body (anthropic.ts is the adapter).

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
