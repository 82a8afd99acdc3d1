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
  textOf,
  usageChunk,
  type ChatMessage,
  type ChunkHead,
  type FieldRule,
  type ToolCall,
} from "./chat-shapes.js";

/**
 * Google's native Gemini API (POST {base}/v1beta/models/{model}:generateContent, and
 * :streamGenerateContent?alt=sse whose every SSE data is a GenerateContentResponse). The request
 * is rebuilt from GEMINI_FIELDS; answers become chat completions and chunks.
 */

export const GEMINI_FIELDS: readonly FieldRule[] = [
  { field: "model", action: "renamed", to: "URL path models/{model}" },
  { field: "messages", action: "translated", to: "contents + systemInstruction", note: "assistant → model; tool → functionResponse; image_url → inlineData/fileData" },
  { field: "max_tokens", action: "renamed", to: "generationConfig.maxOutputTokens", note: "the hold's cap when the client sent none" },
  { field: "max_completion_tokens", action: "renamed", to: "generationConfig.maxOutputTokens" },
  { field: "temperature", action: "renamed", to: "generationConfig.temperature" },
  { field: "top_p", action: "renamed", to: "generationConfig.topP" },
  { field: "top_k", action: "renamed", to: "generationConfig.topK" },
  { field: "stop", action: "renamed", to: "generationConfig.stopSequences" },
  { field: "n", action: "renamed", to: "generationConfig.candidateCount" },
  { field: "seed", action: "renamed", to: "generationConfig.seed" },
  { field: "presence_penalty", action: "renamed", to: "generationConfig.presencePenalty" },
  { field: "frequency_penalty", action: "renamed", to: "generationConfig.frequencyPenalty" },
  { field: "response_format", action: "translated", to: "generationConfig.responseMimeType / responseJsonSchema" },
  { field: "reasoning", action: "translated", to: "generationConfig.thinkingConfig", note: "OpenRouter's {max_tokens | effort | exclude}" },
  { field: "reasoning_effort", action: "translated", to: "generationConfig.thinkingConfig" },
  { field: "tools", action: "translated", to: "tools[].functionDeclarations" },
  { field: "tool_choice", action: "translated", to: "toolConfig.functionCallingConfig", note: "auto→AUTO, none→NONE, required→ANY, {function}→ANY + allowedFunctionNames" },
  { field: "stream", action: "translated", to: ":streamGenerateContent?alt=sse" },
  { field: "parallel_tool_calls", action: "dropped", note: "no Gemini equivalent" },
  { field: "user", action: "dropped", note: "no Gemini equivalent" },
  ...dropped(
    OPENAI_ONLY_FIELDS.filter((f) => f !== "seed" && f !== "frequency_penalty" && f !== "presence_penalty"),
    "no Gemini equivalent",
  ),
  ...dropped(OPENROUTER_ONLY_FIELDS, "OpenRouter-only"),
];

type Part = Record<string, unknown>;
type Content = { role: "user" | "model"; parts: Part[] };

const MIME_BY_EXT: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp", gif: "image/gif", heic: "image/heic", heif: "image/heif", pdf: "application/pdf" };

function partsFor(content: unknown): Part[] {
  const out: Part[] = [];
  for (const p of partsOf(content)) {
    if ((p.type === "text" || p.type === undefined) && typeof p.text === "string" && p.text) out.push({ text: p.text });
    else if (p.type === "image_url") {
      const url = imageUrlOf(p);
      if (!url) continue;
      const data = parseDataUrl(url);
      if (data) out.push({ inlineData: { mimeType: data.mediaType, data: data.data } });
      else {
        const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase() ?? "";
        out.push({ fileData: { mimeType: MIME_BY_EXT[ext] ?? "image/jpeg", fileUri: url } });
      }
    }
  }
  return out;
}

/** A tool's answer as Gemini's functionResponse.response (an object). */
function responseObject(content: unknown): Record<string, unknown> {
  const text = textOf(content);
  try {
    const v = JSON.parse(text) as unknown;
    if (isObject(v)) return v;
  } catch {
    /* plain text */
  }
  return { content: text };
}

/** OpenAI messages → Gemini contents and system instruction. */
export function toGeminiContents(messages: unknown): { systemInstruction: { parts: Part[] } | undefined; contents: Content[] } {
  const system: Part[] = [];
  const contents: Content[] = [];
  /** tool_call_id → function name: Gemini's functionResponse is matched by name. */
  const names = new Map<string, string>();
  const push = (role: "user" | "model", parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const raw of Array.isArray(messages) ? messages : []) {
    if (!isObject(raw)) continue;
    const m = raw as ChatMessage;
    if (m.role === "system" || m.role === "developer") system.push(...partsFor(m.content).filter((p) => "text" in p));
    else if (m.role === "user") push("user", partsFor(m.content));
    else if (m.role === "assistant") {
      const parts = partsFor(m.content);
      for (const tc of Array.isArray(m.tool_calls) ? (m.tool_calls as ToolCall[]) : []) {
        if (!isObject(tc) || !tc.function || typeof tc.function.name !== "string") continue;
        if (typeof tc.id === "string") names.set(tc.id, tc.function.name);
        parts.push({ functionCall: { name: tc.function.name, args: argumentsObject(tc.function.arguments) } });
      }
      push("model", parts);
    } else if (m.role === "tool") {
      const id = typeof m.tool_call_id === "string" ? m.tool_call_id : "";
      const name = names.get(id) ?? (typeof m.name === "string" ? m.name : id);
      push("user", [{ functionResponse: { name, response: responseObject(m.content) } }]);
    }
  }
  return { systemInstruction: system.length ? { parts: system } : undefined, contents };
}

function toolsOf(tools: unknown): Part[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  const decls: Part[] = [];
  for (const t of tools) {
    if (!isObject(t) || t.type !== "function" || !isObject(t.function) || typeof t.function.name !== "string") continue;
    const d: Part = { name: t.function.name };
    if (typeof t.function.description === "string") d.description = t.function.description;
    if (isObject(t.function.parameters)) d.parameters = t.function.parameters;
    decls.push(d);
  }
  return decls.length ? [{ functionDeclarations: decls }] : undefined;
}

function toolConfigOf(choice: unknown): Part | undefined {
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } };
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } };
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
  return undefined;
}

const EFFORT_BUDGET: Record<string, number> = { minimal: 512, low: 1024, medium: 8192, high: 24576 };

function thinkingConfigOf(b: Record<string, unknown>): Part | undefined {
  const r = isObject(b.reasoning) ? b.reasoning : null;
  const effort = typeof r?.effort === "string" ? r.effort : typeof b.reasoning_effort === "string" ? b.reasoning_effort : null;
  const cfg: Part = {};
  if (r && typeof r.max_tokens === "number" && r.max_tokens >= 0) cfg.thinkingBudget = Math.floor(r.max_tokens);
  else if (effort === "none" || r?.enabled === false) cfg.thinkingBudget = 0;
  else if (effort && EFFORT_BUDGET[effort] !== undefined) cfg.thinkingBudget = EFFORT_BUDGET[effort];
  if (r && r.exclude !== true && cfg.thinkingBudget !== 0 && (cfg.thinkingBudget !== undefined || r.enabled === true)) cfg.includeThoughts = true;
  return Object.keys(cfg).length ? cfg : undefined;
}

/** The generateContent body for an OpenAI chat body. */
export function toGeminiBody(input: BuildRequestInput): Record<string, unknown> {
  const b = input.body;
  const { systemInstruction, contents } = toGeminiContents(b.messages);
  const out: Record<string, unknown> = { contents };
  if (systemInstruction) out.systemInstruction = systemInstruction;
  const tools = toolsOf(b.tools);
  if (tools) out.tools = tools;
  const toolConfig = toolConfigOf(b.tool_choice);
  if (toolConfig && tools) out.toolConfig = toolConfig;
  const gc: Record<string, unknown> = {};
  const max = requestedMaxTokens(b, input.maxTokens);
  if (max !== null) gc.maxOutputTokens = max;
  const num: Array<[string, string]> = [
    ["temperature", "temperature"],
    ["top_p", "topP"],
    ["top_k", "topK"],
    ["seed", "seed"],
    ["presence_penalty", "presencePenalty"],
    ["frequency_penalty", "frequencyPenalty"],
  ];
  for (const [from, to] of num) {
    const v = finiteNumber(b[from]);
    if (v !== undefined) gc[to] = v;
  }
  const stop = stopList(b.stop);
  if (stop) gc.stopSequences = stop;
  if (typeof b.n === "number" && Number.isInteger(b.n) && b.n > 1) gc.candidateCount = b.n;
  const rf = isObject(b.response_format) ? b.response_format : null;
  if (rf?.type === "json_object") gc.responseMimeType = "application/json";
  else if (rf?.type === "json_schema") {
    gc.responseMimeType = "application/json";
    const schema = isObject(rf.json_schema) ? rf.json_schema.schema : undefined;
    if (isObject(schema)) gc.responseJsonSchema = schema;
  }
  const thinking = thinkingConfigOf(b);
  if (thinking) gc.thinkingConfig = thinking;
  if (Object.keys(gc).length) out.generationConfig = gc;
  return out;
}

const FINISH: Record<string, string> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  BLOCKLIST: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  SPII: "content_filter",
  IMAGE_SAFETY: "content_filter",
  LANGUAGE: "content_filter",
};

export function finishReasonOf(reason: unknown, hasToolCalls: boolean): string | null {
  if (typeof reason !== "string" || reason === "FINISH_REASON_UNSPECIFIED") return null;
  const f = FINISH[reason] ?? "stop";
  return f === "stop" && hasToolCalls ? "tool_calls" : f;
}

/** Gemini's usageMetadata → TokenUsage: promptTokenCount includes the cached tokens; thoughts are output billed apart from candidates. */
export function geminiUsage(u: unknown): TokenUsage | null {
  if (!isObject(u) || (u.promptTokenCount === undefined && u.candidatesTokenCount === undefined && u.totalTokenCount === undefined)) return null;
  const thoughts = count(u.thoughtsTokenCount);
  const prompt = count(u.promptTokenCount) + count(u.toolUsePromptTokenCount);
  const completion = count(u.candidatesTokenCount) + thoughts;
  const usage: TokenUsage = { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, estimated: false };
  if (u.cachedContentTokenCount !== undefined) usage.cachedTokens = count(u.cachedContentTokenCount);
  if (u.thoughtsTokenCount !== undefined) usage.reasoningTokens = thoughts;
  return usage;
}

interface CandidateParts {
  text: string;
  reasoning: string;
  toolCalls: Record<string, unknown>[];
}

function readParts(candidate: Record<string, unknown>, callBase: number): CandidateParts {
  const out: CandidateParts = { text: "", reasoning: "", toolCalls: [] };
  const content = isObject(candidate.content) ? candidate.content : {};
  for (const p of Array.isArray(content.parts) ? content.parts : []) {
    if (!isObject(p)) continue;
    if (typeof p.text === "string") {
      if (p.thought === true) out.reasoning += p.text;
      else out.text += p.text;
    } else if (isObject(p.functionCall)) {
      const fc = p.functionCall;
      const name = typeof fc.name === "string" ? fc.name : "";
      const id = typeof fc.id === "string" && fc.id ? fc.id : `call_${callBase + out.toolCalls.length}_${name}`;
      out.toolCalls.push({ id, type: "function", function: { name, arguments: JSON.stringify(fc.args ?? {}) } });
    }
  }
  return out;
}

function candidateIndex(c: Record<string, unknown>, i: number): number {
  return typeof c.index === "number" ? c.index : i;
}

/** A non-stream GenerateContentResponse → a chat.completion. */
export function fromGeminiResponse(j: Record<string, unknown>, model: string): Record<string, unknown> {
  const candidates = Array.isArray(j.candidates) ? (j.candidates.filter(isObject) as Record<string, unknown>[]) : [];
  const choices = candidates.map((c, i) => {
    const p = readParts(c, 0);
    const message: Record<string, unknown> = { role: "assistant", content: p.text || (p.toolCalls.length ? null : ""), refusal: null };
    if (p.reasoning) message.reasoning = p.reasoning;
    if (p.toolCalls.length) message.tool_calls = p.toolCalls;
    return { index: candidateIndex(c, i), message, logprobs: null, finish_reason: finishReasonOf(c.finishReason, p.toolCalls.length > 0) ?? "stop" };
  });
  // A prompt blocked by safety filters comes back with no candidates at all.
  if (choices.length === 0) choices.push({ index: 0, message: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: "content_filter" });
  const out: Record<string, unknown> = {
    id: typeof j.responseId === "string" ? j.responseId : "gen",
    object: "chat.completion",
    created: nowSeconds(),
    model: typeof j.modelVersion === "string" ? j.modelVersion : model,
    choices,
  };
  const usage = geminiUsage(j.usageMetadata);
  if (usage) out.usage = openAiUsage(usage);
  return out;
}

/** Gemini's `{error: {code, message, status}}` → OpenAI's error body; the status it stands for. */
function mapGeminiError(status: number, body: string): { status: number; body: string } {
  try {
    const j = JSON.parse(body) as { error?: { code?: unknown; message?: unknown; status?: unknown; details?: unknown } };
    const e = isObject(j.error) ? j.error : null;
    if (e && typeof e.message === "string") {
      // An invalid key is a 400 INVALID_ARGUMENT at Google: it is the gateway's credential, not the client's request.
      const badKey = /API_KEY_INVALID|API key not valid|API key expired/i.test(body);
      const code = typeof e.status === "string" ? e.status : null;
      return { status: badKey ? 401 : status, body: JSON.stringify({ error: { message: e.message, type: code ?? "api_error", code } }) };
    }
  } catch {
    /* not JSON */
  }
  return { status, body };
}

/** Each SSE data is a whole GenerateContentResponse: its parts are the increments. */
export class GeminiStreamTranslator implements StreamTranslator {
  private readonly head: ChunkHead;
  private usage: unknown = null;
  private started = new Set<number>();
  private toolCalls = new Map<number, number>();
  private done = false;

  constructor(model: string) {
    this.head = { id: "gen", created: nowSeconds(), model };
  }

  event(e: SseEvent): string[] {
    if (this.done) return [];
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(e.data) as Record<string, unknown>;
    } catch {
      return [];
    }
    if (isObject(j.error)) {
      this.done = true;
      const err = j.error;
      return [errorPayload(typeof err.message === "string" ? err.message : "upstream error", typeof err.status === "string" ? err.status : "api_error", typeof err.code === "number" ? err.code : null)];
    }
    if (typeof j.responseId === "string") this.head.id = j.responseId;
    if (typeof j.modelVersion === "string" && j.modelVersion) this.head.model = j.modelVersion;
    if (isObject(j.usageMetadata)) this.usage = j.usageMetadata;
    const out: string[] = [];
    const candidates = Array.isArray(j.candidates) ? (j.candidates.filter(isObject) as Record<string, unknown>[]) : [];
    candidates.forEach((c, i) => {
      const index = candidateIndex(c, i);
      const base = this.toolCalls.get(index) ?? 0;
      const p = readParts(c, base);
      const delta: Record<string, unknown> = {};
      if (!this.started.has(index)) {
        this.started.add(index);
        delta.role = "assistant";
      }
      if (p.reasoning) delta.reasoning = p.reasoning;
      if (p.text || delta.role) delta.content = p.text;
      if (p.toolCalls.length) {
        delta.tool_calls = p.toolCalls.map((tc, k) => ({ index: base + k, ...tc }));
        this.toolCalls.set(index, base + p.toolCalls.length);
      }
      const finish = finishReasonOf(c.finishReason, (this.toolCalls.get(index) ?? 0) > 0);
      if (Object.keys(delta).length) out.push(chunk(this.head, delta, null, index));
      if (finish) out.push(chunk(this.head, {}, finish, index));
    });
    if (candidates.length === 0 && isObject(j.promptFeedback) && j.promptFeedback.blockReason) out.push(chunk(this.head, { role: "assistant", content: "" }, "content_filter"));
    return out;
  }

  end(): string[] {
    if (this.done) return [];
    this.done = true;
    const u = geminiUsage(this.usage);
    return [...(u ? [usageChunk(this.head, openAiUsage(u))] : []), "[DONE]"];
  }
}

export class GeminiAdapter implements ProviderAdapter {
  buildRequest(target: ProviderTarget, input: BuildRequestInput): UpstreamRequest {
    if (input.endpoint !== "chat.completions") throw new AppError("invalid_request", `provider ${target.id} (Gemini) serves chat completions only, not ${input.endpoint}`);
    const headers: Record<string, string> = { "content-type": "application/json", accept: input.stream ? "text/event-stream" : "application/json", ...target.headers };
    if (target.apiKey) headers["x-goog-api-key"] = target.apiKey;
    return { url: generateUrl(target.baseUrl, input.upstreamModel, input.stream), method: "POST", headers, body: JSON.stringify(toGeminiBody(input)) };
  }

  translateResponse(json: Record<string, unknown>, _endpoint: InferenceEndpoint): Record<string, unknown> {
    return Array.isArray(json.candidates) || isObject(json.usageMetadata) || isObject(json.promptFeedback) ? fromGeminiResponse(json, "") : json;
  }

  streamTranslator(): StreamTranslator {
    return new GeminiStreamTranslator("");
  }

  usage(u: unknown) {
    return parseUsage(u);
  }

  openingEvent(data: string): OpeningEvent {
    const out: OpeningEvent = { errorStatus: null, model: null };
    try {
      const j = JSON.parse(data) as { error?: { code?: unknown }; modelVersion?: unknown };
      if (isObject(j.error)) {
        const code = Number(j.error.code);
        out.errorStatus = Number.isInteger(code) && code >= 400 && code < 600 ? code : 502;
      } else if (typeof j.modelVersion === "string" && j.modelVersion) out.model = j.modelVersion;
    } catch {
      /* not JSON */
    }
    return out;
  }

  mapError(status: number, body: string) {
    return mapGeminiError(status, body);
  }

  servedModel(planned: string): string {
    return planned;
  }

  passthroughBody(json: Record<string, unknown>, upstreamModel: string | null): Record<string, unknown> {
    return upstreamModel === null ? { ...json } : { ...json, model: upstreamModel };
  }
}

/** `{base}/v1beta/models/{model}:generateContent` (or the SSE stream); a base ending in a version is used as it is. */
export function generateUrl(base: string, model: string, stream: boolean): string {
  const root = /\/v1(beta|alpha)?\d*\/?$/.test(base) ? base : joinUrl(base, "/v1beta");
  const name = model.replace(/^models\//, "");
  return joinUrl(root, `/models/${encodeURIComponent(name)}${stream ? ":streamGenerateContent?alt=sse" : ":generateContent"}`);
}
