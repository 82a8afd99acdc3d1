import type { TokenUsage } from "../../contracts/request.js";
import { count, isObject, nowSeconds, openAiUsage } from "./chat-shapes.js";

// Gemini's answers, usage and errors in OpenAI's shapes (gemini.ts is the adapter).

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

export function readParts(candidate: Record<string, unknown>, callBase: number): CandidateParts {
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

export function candidateIndex(c: Record<string, unknown>, i: number): number {
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
export function mapGeminiError(status: number, body: string): { status: number; body: string } {
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
