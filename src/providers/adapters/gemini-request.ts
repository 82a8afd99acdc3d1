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
  textOf,
  type ChatMessage,
  type FieldRule,
  type ToolCall,
} from "./chat-shapes.js";

// The generateContent request for an OpenAI chat body (gemini.ts is the adapter).

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
