import type { TokenUsage } from "../../contracts/request.js";
import { AppError } from "../../core/errors.js";
import { ANTHROPIC_REASONING_FORMAT } from "../../providers/adapters/anthropic-response.js";
import { cacheTokens, sseEvent, type ChatChunk, type DialectContext, type DialectStream, type InboundDialect } from "./dialect.js";

/**
 * Anthropic's Messages API (`POST /v1/messages`) on the chat pipeline. Request: `system` becomes
 * the first message, content blocks become chat content parts (images as data/URL parts,
 * `tool_use` as the assistant's `tool_calls`, `tool_result` as `tool` messages), `cache_control`
 * stays on the text parts (the form OpenRouter and LiteLLM pass on to Anthropic), `thinking`
 * becomes a reasoning budget. Answer and stream: Anthropic's message object and SSE events, with
 * `input_tokens` not counting cache reads (Anthropic counts those apart).
 */

type Block = Record<string, unknown> & { type?: unknown };

const STOP_REASON: Record<string, string> = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", function_call: "tool_use", content_filter: "refusal" };

function bad(message: string, param: string): AppError {
  return new AppError("invalid_request", message, { param });
}

function textOf(content: unknown, param: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw bad(`\`${param}\` must be a string or an array of text blocks`, param);
  return content
    .map((b: Block, i) => {
      if (b?.type !== "text" || typeof b.text !== "string") throw bad(`\`${param}[${i}]\` must be a text block`, `${param}[${i}]`);
      return b.text;
    })
    .join("\n");
}

function imagePart(b: Block, param: string): Record<string, unknown> {
  const src = (b.source ?? {}) as Record<string, unknown>;
  if (src.type === "base64" && typeof src.data === "string" && typeof src.media_type === "string") {
    return { type: "image_url", image_url: { url: `data:${src.media_type};base64,${src.data}` } };
  }
  if (src.type === "url" && typeof src.url === "string") return { type: "image_url", image_url: { url: src.url } };
  throw bad(`\`${param}.source\` must be a base64 or url image source`, `${param}.source`);
}

function textPart(b: Block): Record<string, unknown> {
  const part: Record<string, unknown> = { type: "text", text: b.text };
  if (b.cache_control) part.cache_control = b.cache_control;
  return part;
}

/** One Anthropic message → one or more chat messages (tool results are messages of their own in chat). */
function toChatMessages(m: Record<string, unknown>, i: number): Record<string, unknown>[] {
  const param = `messages[${i}]`;
  const role = m.role;
  if (role !== "user" && role !== "assistant") throw bad(`\`${param}.role\` must be "user" or "assistant"`, `${param}.role`);
  if (typeof m.content === "string") return [{ role, content: m.content }];
  if (!Array.isArray(m.content)) throw bad(`\`${param}.content\` must be a string or an array of content blocks`, `${param}.content`);
  const out: Record<string, unknown>[] = [];
  const parts: Record<string, unknown>[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  const details: Record<string, unknown>[] = [];
  (m.content as Block[]).forEach((b, j) => {
    const p = `${param}.content[${j}]`;
    switch (b?.type) {
      case "text":
        if (typeof b.text !== "string") throw bad(`\`${p}.text\` must be a string`, `${p}.text`);
        parts.push(textPart(b));
        break;
      case "image":
        if (role !== "user") throw bad(`\`${p}\`: images belong in user messages`, p);
        parts.push(imagePart(b, p));
        break;
      case "tool_use":
        if (role !== "assistant") throw bad(`\`${p}\`: tool_use blocks belong in assistant messages`, p);
        if (typeof b.id !== "string" || typeof b.name !== "string") throw bad(`\`${p}\` needs an id and a name`, p);
        toolCalls.push({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
        break;
      case "tool_result": {
        if (role !== "user") throw bad(`\`${p}\`: tool_result blocks belong in user messages`, p);
        if (typeof b.tool_use_id !== "string") throw bad(`\`${p}.tool_use_id\` is required`, `${p}.tool_use_id`);
        const c = b.content === undefined ? "" : typeof b.content === "string" ? b.content : toolResultText(b.content, `${p}.content`);
        out.push({ role: "tool", tool_call_id: b.tool_use_id, content: b.is_error === true ? `Error: ${c}` : c });
        break;
      }
      case "thinking":
        // Signed thinking of an earlier turn goes back to Anthropic (required with tool use); other upstreams drop it.
        if (role === "assistant" && typeof b.signature === "string" && b.signature) {
          details.push({ type: "reasoning.text", text: typeof b.thinking === "string" ? b.thinking : "", signature: b.signature, format: ANTHROPIC_REASONING_FORMAT, index: details.length });
        }
        break;
      case "redacted_thinking":
        if (role === "assistant" && typeof b.data === "string" && b.data) details.push({ type: "reasoning.encrypted", data: b.data, format: ANTHROPIC_REASONING_FORMAT, index: details.length });
        break;
      default:
        throw new AppError("invalid_request", `\`${p}.type\` \`${String(b?.type)}\` is not supported by this gateway (text, image, tool_use, tool_result, thinking are)`, { param: `${p}.type` });
    }
  });
  if (role === "assistant") {
    const msg: Record<string, unknown> = { role, content: parts.length ? parts.map((x) => x.text).join("") : null };
    if (toolCalls.length) msg.tool_calls = toolCalls;
    if (details.length) msg.reasoning_details = details;
    if (parts.length || toolCalls.length) out.push(msg);
  } else if (parts.length) out.push({ role, content: parts.length === 1 && parts[0]!.type === "text" && !parts[0]!.cache_control ? parts[0]!.text : parts });
  return out;
}

function toolResultText(content: unknown, param: string): string {
  if (!Array.isArray(content)) throw bad(`\`${param}\` must be a string or an array of blocks`, param);
  return (content as Block[]).map((b) => (b?.type === "text" && typeof b.text === "string" ? b.text : "")).join("");
}

function toChatTools(tools: unknown): Record<string, unknown>[] {
  if (!Array.isArray(tools)) throw bad("`tools` must be an array", "tools");
  return tools.map((t: Block, i) => {
    // Client tools have no type or "custom"; Anthropic's server tools (web search, code execution, …) run at Anthropic only.
    if (t?.type !== undefined && t.type !== "custom") throw new AppError("invalid_request", `\`tools[${i}]\`: the server tool \`${String(t.type)}\` is not supported by this gateway; define client tools with name and input_schema`, { param: `tools[${i}].type` });
    if (typeof t?.name !== "string") throw bad(`\`tools[${i}].name\` is required`, `tools[${i}].name`);
    const fn: Record<string, unknown> = { name: t.name, parameters: t.input_schema ?? { type: "object" } };
    if (typeof t.description === "string") fn.description = t.description;
    return { type: "function", function: fn };
  });
}

function toChatToolChoice(tc: Block, chat: Record<string, unknown>): void {
  if (tc.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
  switch (tc.type) {
    case "auto":
      chat.tool_choice = "auto";
      return;
    case "any":
      chat.tool_choice = "required";
      return;
    case "none":
      chat.tool_choice = "none";
      return;
    case "tool":
      if (typeof tc.name !== "string") throw bad("`tool_choice.name` is required with type `tool`", "tool_choice.name");
      chat.tool_choice = { type: "function", function: { name: tc.name } };
      return;
    default:
      throw bad("`tool_choice.type` must be auto, any, tool or none", "tool_choice.type");
  }
}

function requestToChat(body: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad("`messages` must be a non-empty array", "messages");
  const messages: Record<string, unknown>[] = [];
  if (body.system !== undefined && body.system !== null) {
    if (typeof body.system === "string") messages.push({ role: "system", content: body.system });
    else {
      textOf(body.system, "system");
      messages.push({ role: "system", content: (body.system as Block[]).map(textPart) });
    }
  }
  (body.messages as Record<string, unknown>[]).forEach((m, i) => {
    if (!m || typeof m !== "object") throw bad(`\`messages[${i}]\` must be an object`, `messages[${i}]`);
    messages.push(...toChatMessages(m, i));
  });
  const chat: Record<string, unknown> = { model: body.model, messages };
  if (body.max_tokens !== undefined) chat.max_tokens = body.max_tokens;
  for (const k of ["temperature", "top_p", "top_k"] as const) if (body[k] !== undefined) chat[k] = body[k];
  if (body.stop_sequences !== undefined) {
    if (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((s) => typeof s !== "string")) throw bad("`stop_sequences` must be an array of strings", "stop_sequences");
    if (body.stop_sequences.length) chat.stop = body.stop_sequences;
  }
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  if (body.tools !== undefined) {
    const tools = toChatTools(body.tools);
    if (tools.length) chat.tools = tools;
  }
  if (body.tool_choice && typeof body.tool_choice === "object") toChatToolChoice(body.tool_choice as Block, chat);
  const meta = body.metadata as { user_id?: unknown } | undefined;
  if (meta && typeof meta.user_id === "string") chat.user = meta.user_id;
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  if (thinking?.type === "enabled") chat.reasoning = typeof thinking.budget_tokens === "number" ? { max_tokens: thinking.budget_tokens } : { enabled: true };
  return chat;
}

function anthropicUsage(u: Record<string, unknown> | null | undefined): Record<string, number> {
  const prompt = typeof u?.prompt_tokens === "number" ? u.prompt_tokens : 0;
  const output = typeof u?.completion_tokens === "number" ? u.completion_tokens : 0;
  const cache = cacheTokens(u);
  return {
    input_tokens: Math.max(0, prompt - cache.read - cache.write),
    output_tokens: output,
    cache_creation_input_tokens: cache.write,
    cache_read_input_tokens: cache.read,
  };
}

function fromTokenUsage(u: TokenUsage): Record<string, unknown> {
  const out: Record<string, unknown> = { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens };
  if (u.cachedTokens || u.cacheWriteTokens) out.prompt_tokens_details = { cached_tokens: u.cachedTokens ?? 0, cache_write_tokens: u.cacheWriteTokens ?? 0 };
  return out;
}

function parseArgs(s: unknown): unknown {
  if (typeof s !== "string" || !s) return {};
  try {
    return JSON.parse(s);
  } catch {
    return { _raw: s };
  }
}

/** Reasoning entries of a chat answer that carry Claude's signature (or encrypted data) → Anthropic's thinking blocks. */
function thinkingBlocksOf(details: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const d of Array.isArray(details) ? (details as Block[]) : []) {
    if (d?.type === "reasoning.text" && typeof d.signature === "string" && d.signature) out.push({ type: "thinking", thinking: typeof d.text === "string" ? d.text : "", signature: d.signature });
    else if (d?.type === "reasoning.encrypted" && typeof d.data === "string") out.push({ type: "redacted_thinking", data: d.data });
  }
  return out;
}

export function messageId(requestId: string): string {
  return `msg_${requestId.replace(/^req_/, "")}`;
}

function responseOf(chat: Record<string, unknown>, ctx: DialectContext): Record<string, unknown> {
  const choice = ((chat.choices as Array<Record<string, unknown>> | undefined) ?? [])[0] ?? {};
  const msg = (choice.message ?? {}) as Record<string, unknown>;
  const content: Record<string, unknown>[] = [];
  const signed = thinkingBlocksOf(msg.reasoning_details);
  const reasoning = msg.reasoning ?? msg.reasoning_content;
  if (signed.length) content.push(...signed);
  else if (typeof reasoning === "string" && reasoning) content.push({ type: "thinking", thinking: reasoning, signature: "" });
  if (typeof msg.content === "string" && msg.content) content.push({ type: "text", text: msg.content });
  if (typeof msg.refusal === "string" && msg.refusal) content.push({ type: "text", text: msg.refusal });
  for (const tc of (msg.tool_calls as Array<{ id?: string; function?: { name?: string; arguments?: string } }> | undefined) ?? []) {
    content.push({ type: "tool_use", id: tc.id ?? "", name: tc.function?.name ?? "", input: parseArgs(tc.function?.arguments) });
  }
  const finish = typeof choice.finish_reason === "string" ? choice.finish_reason : "stop";
  return {
    id: messageId(ctx.requestId),
    type: "message",
    role: "assistant",
    model: ctx.model,
    content,
    stop_reason: content.some((b) => b.type === "tool_use") ? "tool_use" : (STOP_REASON[finish] ?? "end_turn"),
    stop_sequence: null,
    usage: anthropicUsage(chat.usage as Record<string, unknown> | undefined),
  };
}

/** Anthropic's error types by HTTP status (its documented table). */
function errorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "billing_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 504) return "timeout_error";
  if (status === 503 || status === 529) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

function errorOf(err: AppError, requestId: string | null) {
  return { type: "error", error: { type: errorType(err.status), message: err.message, code: err.code }, request_id: requestId };
}

type OpenBlock = { kind: "text" | "thinking" | "redacted" } | { kind: "tool"; chatIndex: number };

class MessagesStream implements DialectStream {
  private started = false;
  private index = -1;
  private open: OpenBlock | null = null;
  private finish: string | null = null;
  private sawTool = false;
  private usage: Record<string, unknown> | null = null;

  constructor(private readonly ctx: DialectContext) {}

  private start(): string {
    if (this.started) return "";
    this.started = true;
    const message = { id: messageId(this.ctx.requestId), type: "message", role: "assistant", model: this.ctx.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } };
    return sseEvent("message_start", { type: "message_start", message }) + sseEvent("ping", { type: "ping" });
  }

  private close(): string {
    if (!this.open) return "";
    this.open = null;
    return sseEvent("content_block_stop", { type: "content_block_stop", index: this.index });
  }

  private openBlock(block: OpenBlock, contentBlock: Record<string, unknown>): string {
    const out = this.close();
    this.open = block;
    this.index++;
    return out + sseEvent("content_block_start", { type: "content_block_start", index: this.index, content_block: contentBlock });
  }

  chunk(c: ChatChunk): string {
    let out = this.start();
    if (c.usage && typeof c.usage === "object") this.usage = c.usage;
    const choice = c.choices?.[0];
    if (!choice) return out;
    const d = choice.delta ?? {};
    const reasoning = d.reasoning ?? d.reasoning_content;
    if (typeof reasoning === "string" && reasoning) {
      if (this.open?.kind !== "thinking") out += this.openBlock({ kind: "thinking" }, { type: "thinking", thinking: "", signature: "" });
      out += sseEvent("content_block_delta", { type: "content_block_delta", index: this.index, delta: { type: "thinking_delta", thinking: reasoning } });
    }
    for (const r of d.reasoning_details ?? []) {
      if (r.type === "reasoning.text" && typeof r.signature === "string" && r.signature) {
        if (this.open?.kind !== "thinking") out += this.openBlock({ kind: "thinking" }, { type: "thinking", thinking: "", signature: "" });
        out += sseEvent("content_block_delta", { type: "content_block_delta", index: this.index, delta: { type: "signature_delta", signature: r.signature } });
      } else if (r.type === "reasoning.encrypted" && typeof r.data === "string") {
        out += this.openBlock({ kind: "redacted" }, { type: "redacted_thinking", data: r.data });
      }
    }
    const text = (typeof d.content === "string" ? d.content : "") + (typeof d.refusal === "string" ? d.refusal : "");
    if (text) {
      if (this.open?.kind !== "text") out += this.openBlock({ kind: "text" }, { type: "text", text: "" });
      out += sseEvent("content_block_delta", { type: "content_block_delta", index: this.index, delta: { type: "text_delta", text } });
    }
    for (const tc of d.tool_calls ?? []) {
      const chatIndex = tc.index ?? 0;
      if (this.open?.kind !== "tool" || this.open.chatIndex !== chatIndex || tc.id) {
        this.sawTool = true;
        out += this.openBlock({ kind: "tool", chatIndex }, { type: "tool_use", id: tc.id ?? `toolu_${this.index + 1}`, name: tc.function?.name ?? "", input: {} });
      }
      const args = tc.function?.arguments;
      if (args) out += sseEvent("content_block_delta", { type: "content_block_delta", index: this.index, delta: { type: "input_json_delta", partial_json: args } });
    }
    if (choice.finish_reason) this.finish = choice.finish_reason;
    return out;
  }

  end(usage: TokenUsage): string {
    let out = this.start() + this.close();
    const u = anthropicUsage(this.usage ?? fromTokenUsage(usage));
    const stop = this.sawTool ? "tool_use" : (STOP_REASON[this.finish ?? "stop"] ?? "end_turn");
    out += sseEvent("message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: u });
    return out + sseEvent("message_stop", { type: "message_stop" });
  }

  error(err: AppError, requestId: string): string {
    return sseEvent("error", errorOf(err, requestId));
  }
}

export const anthropicMessages: InboundDialect = {
  endpoint: "messages",
  toChat: requestToChat,
  response: responseOf,
  stream: (ctx) => new MessagesStream(ctx),
  errorBody: errorOf,
};
