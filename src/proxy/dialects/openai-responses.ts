import type { TokenUsage } from "../../contracts/request.js";
import { AppError } from "../../core/errors.js";
import { cacheTokens, sseEvent, type ChatChunk, type DialectContext, type DialectStream, type InboundDialect } from "./dialect.js";

/**
 * OpenAI's Responses API (`POST /v1/responses`) on the chat pipeline, for upstreams that speak chat:
 * `instructions` and the input items become chat messages (function calls and their
 * `function_call_output`s become `tool_calls` and `tool` messages), function tools become chat
 * tools, `max_output_tokens` the output cap. Nothing is kept between requests, so what needs a
 * stored response (`previous_response_id`, `item_reference`, `store: true`, `conversation`,
 * `background`) is refused with `unsupported_parameter` instead of being silently ignored.
 */

type Item = Record<string, unknown> & { type?: unknown };

function unsupported(param: string, why: string): AppError {
  return new AppError("unsupported_parameter", `\`${param}\` is not supported: ${why}`, { param });
}

function bad(message: string, param: string): AppError {
  return new AppError("invalid_request", message, { param });
}

const STATELESS = "this gateway keeps no responses between requests; send the whole conversation in `input` (and `store: false`)";

/** Message content (string or input/output parts) → chat content. */
function contentOf(content: unknown, param: string, role: string): unknown {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw bad(`\`${param}\` must be a string or an array of content parts`, param);
  const parts = (content as Item[]).map((p, i) => {
    const at = `${param}[${i}]`;
    switch (p?.type) {
      case "input_text":
      case "output_text":
      case "text":
        if (typeof p.text !== "string") throw bad(`\`${at}.text\` must be a string`, `${at}.text`);
        return { type: "text", text: p.text };
      case "refusal":
        return { type: "text", text: typeof p.refusal === "string" ? p.refusal : "" };
      case "input_image": {
        if (typeof p.image_url !== "string") throw unsupported(`${at}.file_id`, "images are taken by `image_url` (a URL or a data URL) only");
        const image: Record<string, unknown> = { url: p.image_url };
        if (typeof p.detail === "string") image.detail = p.detail;
        return { type: "image_url", image_url: image };
      }
      default:
        throw unsupported(`${at}.type`, `content parts of type \`${String(p?.type)}\` can't be sent to a chat upstream (input_text, input_image, output_text are)`);
    }
  });
  // An assistant turn in chat is plain text.
  if (role === "assistant") return parts.map((p) => ("text" in p ? p.text : "")).join("");
  return parts;
}

function inputToMessages(input: unknown): Record<string, unknown>[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input)) throw bad("`input` must be a string or an array of input items", "input");
  const out: Record<string, unknown>[] = [];
  (input as Item[]).forEach((item, i) => {
    const param = `input[${i}]`;
    if (!item || typeof item !== "object") throw bad(`\`${param}\` must be an object`, param);
    const type = item.type ?? "message";
    switch (type) {
      case "message": {
        const role = item.role;
        if (role !== "user" && role !== "assistant" && role !== "system" && role !== "developer") throw bad(`\`${param}.role\` must be user, assistant, system or developer`, `${param}.role`);
        out.push({ role: role === "developer" ? "system" : role, content: contentOf(item.content, `${param}.content`, role) });
        return;
      }
      case "function_call": {
        if (typeof item.call_id !== "string" || typeof item.name !== "string") throw bad(`\`${param}\` needs call_id and name`, param);
        const call = { id: item.call_id, type: "function", function: { name: item.name, arguments: typeof item.arguments === "string" ? item.arguments : JSON.stringify(item.arguments ?? {}) } };
        // Parallel calls arrive as consecutive items; chat has them on one assistant message.
        const last = out.at(-1);
        if (last?.role === "assistant" && Array.isArray(last.tool_calls)) (last.tool_calls as unknown[]).push(call);
        else if (last?.role === "assistant" && !last.tool_calls) last.tool_calls = [call];
        else out.push({ role: "assistant", content: null, tool_calls: [call] });
        return;
      }
      case "function_call_output": {
        if (typeof item.call_id !== "string") throw bad(`\`${param}.call_id\` is required`, `${param}.call_id`);
        const output = typeof item.output === "string" ? item.output : contentOf(item.output, `${param}.output`, "assistant");
        out.push({ role: "tool", tool_call_id: item.call_id, content: output });
        return;
      }
      case "reasoning":
        // An earlier turn's reasoning: a chat upstream takes none back.
        return;
      case "item_reference":
        throw unsupported(`${param}`, `item references need stored responses; ${STATELESS}`);
      default:
        throw unsupported(`${param}.type`, `input items of type \`${String(type)}\` can't be sent to a chat upstream (message, function_call, function_call_output are)`);
    }
  });
  return out;
}

function toolsToChat(tools: unknown): Record<string, unknown>[] {
  if (!Array.isArray(tools)) throw bad("`tools` must be an array", "tools");
  return (tools as Item[]).map((t, i) => {
    if (t?.type !== "function") throw unsupported(`tools[${i}].type`, `\`${String(t?.type)}\` tools run at OpenAI only; function tools are served`);
    if (typeof t.name !== "string") throw bad(`\`tools[${i}].name\` is required`, `tools[${i}].name`);
    const fn: Record<string, unknown> = { name: t.name, parameters: t.parameters ?? { type: "object", properties: {} } };
    if (typeof t.description === "string") fn.description = t.description;
    if (typeof t.strict === "boolean") fn.strict = t.strict;
    return { type: "function", function: fn };
  });
}

function toolChoiceToChat(tc: unknown): unknown {
  if (tc === "auto" || tc === "none" || tc === "required") return tc;
  const o = tc as Item | null;
  if (o && o.type === "function" && typeof o.name === "string") return { type: "function", function: { name: o.name } };
  throw unsupported("tool_choice", "only auto, none, required and a function tool are served");
}

function formatToChat(text: unknown): unknown {
  const format = (text as { format?: Item } | undefined)?.format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type === "json_schema") {
    const js: Record<string, unknown> = { name: format.name ?? "response", schema: format.schema };
    if (typeof format.strict === "boolean") js.strict = format.strict;
    if (typeof format.description === "string") js.description = format.description;
    return { type: "json_schema", json_schema: js };
  }
  throw unsupported("text.format.type", "text, json_object and json_schema are served");
}

/**
 * OpenAI's hosted tools: billed per call at OpenAI (web and file search, code interpreter, image
 * generation), or run against state in the operator's account (vector stores, containers, MCP
 * servers). The gateway prices tokens only, so these are refused on every route; tools the client
 * runs itself (functions, custom tools, local shell, computer use) cost only their tokens.
 */
const HOSTED_TOOLS = /^(web_search|file_search|code_interpreter|image_generation|mcp)/;

/** What needs state at the upstream (the gateway's or the operator's account), or costs what the gateway can't price: refused on every route. */
function refuseStateful(body: Record<string, unknown>): void {
  if (Array.isArray(body.tools)) {
    (body.tools as Item[]).forEach((t, i) => {
      if (typeof t?.type === "string" && HOSTED_TOOLS.test(t.type)) throw unsupported(`tools[${i}].type`, `\`${t.type}\` runs at OpenAI and is billed per call there, which this gateway does not price; function and custom tools are served`);
    });
  }
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) throw unsupported("previous_response_id", STATELESS);
  if (body.conversation !== undefined && body.conversation !== null) throw unsupported("conversation", STATELESS);
  if (body.store === true) throw unsupported("store", STATELESS);
  if (body.background === true) throw unsupported("background", "answers are given in the request that asked for them");
  if (body.prompt !== undefined && body.prompt !== null) throw unsupported("prompt", "stored prompt templates live at OpenAI only");
  if (Array.isArray(body.input)) {
    (body.input as Item[]).forEach((item, i) => {
      if (item?.type === "item_reference") throw unsupported(`input[${i}]`, `item references need stored responses; ${STATELESS}`);
      // A file id names a file stored in the upstream account (the operator's, shared by every client).
      const parts = Array.isArray(item?.content) ? (item.content as Item[]) : [];
      parts.forEach((p, j) => {
        if (p && typeof p === "object" && p.file_id !== undefined && p.file_id !== null) throw unsupported(`input[${i}].content[${j}].file_id`, "files stored upstream are not served; send `file_data`, `file_url` or `image_url`");
      });
    });
  }
}

/**
 * A request chat can't carry (OpenAI's own tools, file inputs, other item types) that a route
 * with the native Responses API can: a chat body standing for it in the holds and counts only
 * (the whole request as the prompt: an upper bound of its tokens), never sent anywhere.
 */
function untranslatable(body: Record<string, unknown>): Record<string, unknown> {
  refuseStateful(body);
  const prompt = JSON.stringify({ instructions: body.instructions, input: body.input, tools: body.tools });
  const chat: Record<string, unknown> = { model: body.model, messages: [{ role: "user", content: prompt }] };
  if (typeof body.max_output_tokens === "number") chat.max_tokens = body.max_output_tokens;
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return chat;
}

function requestToChat(body: Record<string, unknown>): Record<string, unknown> {
  refuseStateful(body);
  if (body.input === undefined) throw bad("`input` is required", "input");
  const messages: Record<string, unknown>[] = [];
  if (typeof body.instructions === "string" && body.instructions) messages.push({ role: "system", content: body.instructions });
  messages.push(...inputToMessages(body.input));
  if (messages.length === 0) throw bad("`input` must hold at least one message", "input");
  const chat: Record<string, unknown> = { model: body.model, messages };
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) chat.max_tokens = body.max_output_tokens;
  for (const k of ["temperature", "top_p", "parallel_tool_calls", "user", "top_logprobs"] as const) if (body[k] !== undefined && body[k] !== null) chat[k] = body[k];
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  if (body.tools !== undefined && body.tools !== null) {
    const tools = toolsToChat(body.tools);
    if (tools.length) chat.tools = tools;
  }
  if (body.tool_choice !== undefined && body.tool_choice !== null) chat.tool_choice = toolChoiceToChat(body.tool_choice);
  const rf = formatToChat(body.text);
  if (rf) chat.response_format = rf;
  const effort = (body.reasoning as { effort?: unknown } | undefined)?.effort;
  if (typeof effort === "string") chat.reasoning_effort = effort;
  return chat;
}

function responsesUsage(u: Record<string, unknown> | null | undefined) {
  const input = typeof u?.prompt_tokens === "number" ? u.prompt_tokens : 0;
  const output = typeof u?.completion_tokens === "number" ? u.completion_tokens : 0;
  const cache = cacheTokens(u);
  const reasoning = ((u?.completion_tokens_details ?? {}) as { reasoning_tokens?: unknown }).reasoning_tokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cache.read, cache_write_tokens: cache.write },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: typeof reasoning === "number" ? reasoning : 0 },
    total_tokens: input + output,
  };
}

function fromTokenUsage(u: TokenUsage): Record<string, unknown> {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens ?? 0, cache_write_tokens: u.cacheWriteTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
  };
}

const idOf = (prefix: string, requestId: string, n?: number) => `${prefix}_${requestId.replace(/^req_/, "")}${n === undefined ? "" : `_${n}`}`;

/** The response object around `output`, echoing the request's settings as OpenAI's does. */
function envelope(ctx: DialectContext, status: string, output: unknown[], usage: unknown, incomplete: string | null): Record<string, unknown> {
  const b = ctx.body;
  return {
    id: idOf("resp", ctx.requestId),
    object: "response",
    created_at: ctx.createdAt,
    status,
    completed_at: status === "completed" ? ctx.now() : null,
    error: null,
    incomplete_details: incomplete ? { reason: incomplete } : null,
    instructions: typeof b.instructions === "string" ? b.instructions : null,
    max_output_tokens: typeof b.max_output_tokens === "number" ? b.max_output_tokens : null,
    model: ctx.model,
    output,
    parallel_tool_calls: b.parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: b.reasoning && typeof b.reasoning === "object" ? b.reasoning : null,
    store: false,
    temperature: typeof b.temperature === "number" ? b.temperature : 1,
    text: b.text && typeof b.text === "object" ? b.text : { format: { type: "text" } },
    tool_choice: b.tool_choice ?? "auto",
    tools: Array.isArray(b.tools) ? (b.tools as Item[]).map((t) => ({ ...t, parameters: t.parameters ?? null, strict: typeof t.strict === "boolean" ? t.strict : null })) : [],
    top_p: typeof b.top_p === "number" ? b.top_p : 1,
    truncation: "disabled",
    ...(usage ? { usage } : {}),
    ...(typeof b.user === "string" ? { user: b.user } : {}),
    metadata: b.metadata && typeof b.metadata === "object" ? b.metadata : {},
  };
}

function messageItem(id: string, text: string, status: string) {
  return { id, type: "message", status, role: "assistant", content: text === "" && status === "in_progress" ? [] : [textPart(text)] };
}

const textPart = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });

function responseOf(chat: Record<string, unknown>, ctx: DialectContext): Record<string, unknown> {
  const choice = ((chat.choices as Array<Record<string, unknown>> | undefined) ?? [])[0] ?? {};
  const msg = (choice.message ?? {}) as Record<string, unknown>;
  const output: unknown[] = [];
  const reasoning = msg.reasoning ?? msg.reasoning_content;
  if (typeof reasoning === "string" && reasoning) output.push({ id: idOf("rs", ctx.requestId), type: "reasoning", summary: [{ type: "summary_text", text: reasoning }] });
  const text = (typeof msg.content === "string" ? msg.content : "") + (typeof msg.refusal === "string" ? msg.refusal : "");
  if (text) output.push(messageItem(idOf("msg", ctx.requestId), text, "completed"));
  ((msg.tool_calls as Array<{ id?: string; function?: { name?: string; arguments?: string } }> | undefined) ?? []).forEach((tc, i) => {
    output.push({ id: idOf("fc", ctx.requestId, i), type: "function_call", status: "completed", call_id: tc.id ?? idOf("call", ctx.requestId, i), name: tc.function?.name ?? "", arguments: tc.function?.arguments ?? "" });
  });
  const finish = choice.finish_reason;
  const incomplete = finish === "length" ? "max_output_tokens" : finish === "content_filter" ? "content_filter" : null;
  return envelope(ctx, incomplete ? "incomplete" : "completed", output, responsesUsage(chat.usage as Record<string, unknown> | undefined), incomplete);
}

interface OpenItem {
  outputIndex: number;
  id: string;
  kind: "message" | "function_call";
  text: string;
  chatIndex: number;
  callId: string;
  name: string;
}

class ResponsesStream implements DialectStream {
  private seq = 0;
  private started = false;
  private readonly items: Record<string, unknown>[] = [];
  private open: OpenItem | null = null;
  private finish: string | null = null;
  private usage: Record<string, unknown> | null = null;
  private calls = 0;

  constructor(private readonly ctx: DialectContext) {}

  private ev(type: string, data: Record<string, unknown>): string {
    return sseEvent(type, { type, sequence_number: this.seq++, ...data });
  }

  private start(): string {
    if (this.started) return "";
    this.started = true;
    const r = envelope(this.ctx, "in_progress", [], null, null);
    return this.ev("response.created", { response: r }) + this.ev("response.in_progress", { response: r });
  }

  private close(): string {
    const o = this.open;
    if (!o) return "";
    this.open = null;
    let out = "";
    let item: Record<string, unknown>;
    if (o.kind === "message") {
      out += this.ev("response.output_text.done", { item_id: o.id, output_index: o.outputIndex, content_index: 0, text: o.text, logprobs: [] });
      out += this.ev("response.content_part.done", { item_id: o.id, output_index: o.outputIndex, content_index: 0, part: textPart(o.text) });
      item = messageItem(o.id, o.text, "completed");
    } else {
      out += this.ev("response.function_call_arguments.done", { item_id: o.id, output_index: o.outputIndex, name: o.name, arguments: o.text });
      item = { id: o.id, type: "function_call", status: "completed", call_id: o.callId, name: o.name, arguments: o.text };
    }
    this.items.push(item);
    return out + this.ev("response.output_item.done", { output_index: o.outputIndex, item });
  }

  private openMessage(): string {
    let out = this.close();
    const o: OpenItem = { outputIndex: this.items.length, id: idOf("msg", this.ctx.requestId, this.items.length), kind: "message", text: "", chatIndex: -1, callId: "", name: "" };
    this.open = o;
    out += this.ev("response.output_item.added", { output_index: o.outputIndex, item: messageItem(o.id, "", "in_progress") });
    return out + this.ev("response.content_part.added", { item_id: o.id, output_index: o.outputIndex, content_index: 0, part: textPart("") });
  }

  private openCall(chatIndex: number, callId: string, name: string): string {
    const out = this.close();
    const n = this.calls++;
    const o: OpenItem = { outputIndex: this.items.length, id: idOf("fc", this.ctx.requestId, n), kind: "function_call", text: "", chatIndex, callId: callId || idOf("call", this.ctx.requestId, n), name };
    this.open = o;
    return out + this.ev("response.output_item.added", { output_index: o.outputIndex, item: { id: o.id, type: "function_call", status: "in_progress", call_id: o.callId, name, arguments: "" } });
  }

  chunk(c: ChatChunk): string {
    let out = this.start();
    if (c.usage && typeof c.usage === "object") this.usage = c.usage;
    const choice = c.choices?.[0];
    if (!choice) return out;
    const d = choice.delta ?? {};
    const text = (typeof d.content === "string" ? d.content : "") + (typeof d.refusal === "string" ? d.refusal : "");
    if (text) {
      if (this.open?.kind !== "message") out += this.openMessage();
      const o = this.open!;
      o.text += text;
      out += this.ev("response.output_text.delta", { item_id: o.id, output_index: o.outputIndex, content_index: 0, delta: text, logprobs: [] });
    }
    for (const tc of d.tool_calls ?? []) {
      const chatIndex = tc.index ?? 0;
      if (this.open?.kind !== "function_call" || this.open.chatIndex !== chatIndex || tc.id) out += this.openCall(chatIndex, tc.id ?? "", tc.function?.name ?? "");
      const args = tc.function?.arguments;
      if (args) {
        const o = this.open!;
        o.text += args;
        out += this.ev("response.function_call_arguments.delta", { item_id: o.id, output_index: o.outputIndex, delta: args });
      }
    }
    if (choice.finish_reason) this.finish = choice.finish_reason;
    return out;
  }

  end(usage: TokenUsage): string {
    let out = this.start() + this.close();
    const incomplete = this.finish === "length" ? "max_output_tokens" : this.finish === "content_filter" ? "content_filter" : null;
    const r = envelope(this.ctx, incomplete ? "incomplete" : "completed", this.items, responsesUsage(this.usage ?? fromTokenUsage(usage)), incomplete);
    out += this.ev(incomplete ? "response.incomplete" : "response.completed", { response: r });
    return out;
  }

  error(err: AppError, requestId: string): string {
    void requestId;
    return this.ev("error", { code: err.code, message: err.message, param: err.extra.param ?? null });
  }
}

export const openaiResponses: InboundDialect = {
  endpoint: "responses",
  toChat: requestToChat,
  untranslatable,
  response: responseOf,
  stream: (ctx) => new ResponsesStream(ctx),
};
