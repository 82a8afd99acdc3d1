import type { SseEvent, StreamTranslator } from "../adapter.js";
import { chunk, errorPayload, isObject, nowSeconds, openAiUsage, usageChunk, type ChunkHead } from "./chat-shapes.js";
import { candidateIndex, finishReasonOf, geminiUsage, readParts } from "./gemini-response.js";

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
