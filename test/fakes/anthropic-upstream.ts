import { sseFixture, startNativeUpstream, type NativeUpstream, type RecordedRequest, type ScriptedReply } from "./native-upstream.js";

/**
 * Anthropic's Messages API as documented: POST /v1/messages with `x-api-key` and
 * `anthropic-version`, `max_tokens` required, unknown top-level fields refused with 400
 * invalid_request_error (so a test fails when the gateway forwards one). Default answers: a short
 * message, or the recorded text stream (test/fixtures/sse/anthropic/text-cached.txt).
 */
const FIELDS = new Set(["model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p", "top_k", "stream", "tools", "tool_choice", "metadata", "thinking", "service_tier", "container", "mcp_servers"]);

export const ANTHROPIC_KEY = "sk-ant-api03-fake-upstream-key";

const invalid = (message: string, status = 400, type = "invalid_request_error"): ScriptedReply => ({ status, error: { type: "error", error: { type, message } } });

function check(r: RecordedRequest): ScriptedReply | null {
  if (r.method !== "POST" || r.url !== "/v1/messages") return invalid(`Not found: ${r.method} ${r.url}`, 404, "not_found_error");
  if (r.headers["x-api-key"] !== ANTHROPIC_KEY) return invalid("invalid x-api-key", 401, "authentication_error");
  if (r.headers["anthropic-version"] !== "2023-06-01") return invalid("anthropic-version: header is required");
  if (r.headers.authorization) return invalid("unexpected authorization header");
  for (const k of Object.keys(r.body)) if (!FIELDS.has(k)) return invalid(`${k}: Extra inputs are not permitted`);
  const b = r.body;
  if (typeof b.max_tokens !== "number" || !Number.isInteger(b.max_tokens)) return invalid("max_tokens: Field required");
  if (!Array.isArray(b.messages) || b.messages.length === 0) return invalid("messages: Field required");
  for (const m of b.messages as Array<{ role?: string; content?: unknown }>) {
    if (m.role !== "user" && m.role !== "assistant") return invalid(`messages: Unexpected role "${m.role}"`);
    if (Array.isArray(m.content)) for (const c of m.content as Array<{ type?: string; text?: string }>) if (c.type === "text" && !c.text) return invalid("messages: text content blocks must be non-empty");
  }
  return null;
}

export function anthropicMessage(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content: [{ type: "text", text: "Hi! My name is Claude." }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 2095, output_tokens: 503 },
    ...over,
  };
}

export function startAnthropicUpstream(): Promise<NativeUpstream> {
  return startNativeUpstream({
    check,
    fallback: (r) => (r.body.stream === true ? { sse: sseFixture("anthropic/text-cached.txt") } : { json: anthropicMessage() }),
  });
}
