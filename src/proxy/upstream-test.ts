import { adapterFor, buildUpstreamRequest, upstreamModelName, type ProviderTarget } from "../providers/index.js";
import { classifyError, type UpstreamClient } from "./upstream.js";
import { sanitizeUpstreamMessage } from "../routing/classify.js";
import type { LiveUpstreamAccount } from "../routing/store.js";

export interface UpstreamTestResult {
  ok: boolean;
  provider_id: string;
  upstream_account_id: string | null;
  upstream_model: string;
  /** Upstream HTTP status; null when no response came (connect error, timeout). */
  status: number | null;
  latency_ms: number;
  /** What went wrong, scrubbed of anything key-like; null on success. */
  error: string | null;
  /** The answer's text (first 200 characters) and usage, on success. */
  reply: string | null;
  usage: { prompt_tokens: number | null; completion_tokens: number | null } | null;
}

const MAX_BODY = 64 * 1024;
const TEST_TIMEOUT_MS = 30_000;

/**
 * "Test this upstream": one tiny non-streaming chat request (`max_tokens: 1`) straight to one
 * provider, with one upstream account's key when given — no routing, fallback, billing or breaker
 * bookkeeping, so the answer says exactly how that upstream behaves right now. The key is used for
 * the call only; nothing in the result can contain it.
 */
export async function testUpstream(input: {
  client: UpstreamClient;
  target: ProviderTarget;
  account: LiveUpstreamAccount | null;
  model: string;
  now: () => number;
}): Promise<UpstreamTestResult> {
  const target = input.account ? { ...input.target, apiKey: input.account.apiKey } : input.target;
  const upstreamModel = upstreamModelName(target, input.model);
  const req = buildUpstreamRequest(target, {
    path: "/chat/completions",
    body: { messages: [{ role: "user", content: "ping" }] },
    upstreamModel,
    stream: false,
    maxTokens: 1,
    maxTokensField: "max_tokens",
  });
  const t = target.timeouts;
  const timeouts = { connectMs: Math.min(t.connectMs, TEST_TIMEOUT_MS), firstByteMs: Math.min(t.firstByteMs, TEST_TIMEOUT_MS), idleMs: Math.min(t.idleMs, TEST_TIMEOUT_MS), totalMs: Math.min(t.totalMs, TEST_TIMEOUT_MS) };
  const base = { provider_id: target.id, upstream_account_id: input.account?.id ?? null, upstream_model: upstreamModel };
  const started = input.now();
  let status: number | null = null;
  try {
    const res = await input.client.send(req, timeouts);
    status = res.status;
    let text = "";
    try {
      for await (const chunk of res.body) {
        if (text.length < MAX_BODY) text += (chunk as Buffer).toString("utf8");
      }
    } finally {
      res.finish();
    }
    const latency = input.now() - started;
    let json: Record<string, unknown> | null = null;
    try {
      json = JSON.parse(text.slice(0, MAX_BODY)) as Record<string, unknown>;
    } catch {
      json = null;
    }
    if (status < 200 || status >= 300) {
      const e = json?.error as { message?: unknown } | string | undefined;
      const msg = typeof e === "string" ? e : typeof e?.message === "string" ? e.message : text.slice(0, 300);
      return { ...base, ok: false, status, latency_ms: latency, error: sanitizeUpstreamMessage(`HTTP ${status}: ${msg}`), reply: null, usage: null };
    }
    // Native wire formats (Anthropic, Gemini) answer in their own shape.
    if (json) json = adapterFor(target).translateResponse(json, "chat.completions");
    const choice = Array.isArray(json?.choices) ? (json!.choices[0] as { message?: { content?: unknown } } | undefined) : undefined;
    const usage = (json?.usage ?? null) as { prompt_tokens?: number; completion_tokens?: number } | null;
    if (!json || !choice) return { ...base, ok: false, status, latency_ms: latency, error: "The upstream answered 2xx without a chat completion", reply: null, usage: null };
    const content = typeof choice.message?.content === "string" ? choice.message.content : "";
    return {
      ...base,
      ok: true,
      status,
      latency_ms: latency,
      error: null,
      reply: sanitizeUpstreamMessage(content).slice(0, 200),
      usage: usage ? { prompt_tokens: usage.prompt_tokens ?? null, completion_tokens: usage.completion_tokens ?? null } : null,
    };
  } catch (e) {
    const f = classifyError(e);
    return { ...base, ok: false, status, latency_ms: input.now() - started, error: f.message, reply: null, usage: null };
  }
}
