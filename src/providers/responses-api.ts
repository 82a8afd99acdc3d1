/**
 * OpenAI's Responses API spoken natively by an upstream (`<base>/responses`): which providers take
 * it, which request fields reach it, and how its first stream event is read. Pure: no I/O.
 *
 * The gateway keeps no state between requests, so a native request goes out with `store: false`
 * whatever the client sent (OpenAI stores a response unless told not to, under the operator's
 * organisation, where any other client of the gateway could not reach it anyway); `store: true`,
 * `previous_response_id` and friends are refused before this (dialects/openai-responses.ts), the
 * same for native and translated targets, so a fallback from one to the other changes nothing.
 */
import type { OpeningEvent } from "./adapter.js";
import type { ProviderTarget, UpstreamRequest } from "./types.js";
import { joinUrl } from "./url.js";

/** CreateResponse's properties in OpenAI's published OpenAPI document: nothing else is sent. */
export const RESPONSES_FIELDS: readonly string[] = [
  "model",
  "input",
  "instructions",
  "include",
  "max_output_tokens",
  "max_tool_calls",
  "metadata",
  "moderation",
  "parallel_tool_calls",
  "prompt_cache_key",
  "prompt_cache_options",
  "prompt_cache_retention",
  "reasoning",
  "safety_identifier",
  "service_tier",
  "store",
  "stream",
  "stream_options",
  "temperature",
  "text",
  "tool_choice",
  "tools",
  "top_logprobs",
  "top_p",
  "truncation",
  "user",
  "context_management",
];
const FORWARDED = new Set(RESPONSES_FIELDS);

/** Provider types that may be told `responses_api: native` (the others speak another wire format). */
export const RESPONSES_CAPABLE_TYPES: ReadonlySet<ProviderTarget["type"]> = new Set(["openai", "litellm", "openrouter", "mock"]);

/**
 * Whether an attempt on this target goes to its own `/responses`. Unset: api.openai.com and Azure
 * OpenAI serve it (OpenAI's own API), and so does the LiteLLM proxy (its `/v1/responses`, bridged to
 * chat by LiteLLM where the model's provider has none); other OpenAI-compatible servers (vLLM,
 * Ollama, most hosted ones) and OpenRouter (beta) are translated to chat by the gateway.
 */
export function responsesNative(target: Pick<ProviderTarget, "type" | "baseUrl" | "responsesApi">): boolean {
  if (!RESPONSES_CAPABLE_TYPES.has(target.type)) return false;
  if (target.responsesApi) return target.responsesApi === "native";
  if (target.type === "litellm") return true;
  if (target.type !== "openai") return false;
  let host = "";
  try {
    host = new URL(target.baseUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === "api.openai.com" || host.endsWith(".openai.azure.com");
}

export interface ResponsesRequestInput {
  /** The client's Responses body (not mutated). */
  body: Readonly<Record<string, unknown>>;
  upstreamModel: string;
  stream: boolean;
  /** The gateway's output cap (the hold's), or null to send the client's as it is. */
  maxOutputTokens: number | null;
}

/** The client's Responses body as the upstream gets it: the API's own fields only, the route's model, `store: false`. */
export function responsesBody(input: ResponsesRequestInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.body)) if (v !== undefined && FORWARDED.has(k)) out[k] = v;
  out.model = input.upstreamModel;
  out.store = false;
  if (input.stream) out.stream = true;
  else delete out.stream;
  if (input.maxOutputTokens !== null) out.max_output_tokens = input.maxOutputTokens;
  return out;
}

export function buildResponsesRequest(target: ProviderTarget, input: ResponsesRequestInput): UpstreamRequest {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: input.stream ? "text/event-stream" : "application/json",
    ...target.headers,
  };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return { url: joinUrl(target.baseUrl, "/responses"), method: "POST", headers, body: JSON.stringify(responsesBody(input)) };
}

/**
 * A Responses stream's first event: `response.created` opens it; an `error` or `response.failed`
 * event before anything was sent is an upstream failure the fallback loop may route around.
 */
export function responsesOpening(data: string): OpeningEvent {
  const out: OpeningEvent = { errorStatus: null, model: null };
  try {
    const j = JSON.parse(data) as { type?: unknown; code?: unknown; response?: { model?: unknown; error?: { code?: unknown } | null } };
    if (typeof j.response?.model === "string" && j.response.model) out.model = j.response.model;
    if (j.type === "error" || j.type === "response.failed") out.errorStatus = statusOfCode(j.type === "error" ? j.code : j.response?.error?.code);
  } catch {
    /* not JSON: relayed as it is */
  }
  return out;
}

/** OpenAI's stream error codes carry no HTTP status: a rate limit is a 429, the rest a bad gateway. */
function statusOfCode(code: unknown): number {
  if (code === "rate_limit_exceeded") return 429;
  const n = Number(code);
  return Number.isInteger(n) && n >= 400 && n < 600 ? n : 502;
}
