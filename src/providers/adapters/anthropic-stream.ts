import type { SseEvent, StreamTranslator } from "../adapter.js";
import { chunk, errorPayload, isObject, nowSeconds, openAiUsage, usageChunk, type ChunkHead } from "./chat-shapes.js";
import { anthropicUsage, ERROR_STATUS, finishReasonOf, gatewayStatus } from "./anthropic-response.js";

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
