/**
 * Which client request fields reach each kind of upstream: forwarded as sent, renamed (or rewritten
 * into the upstream's own field), or dropped, per inference endpoint. Clients speak OpenAI's shape
 * plus OpenRouter's extras (`models`, `provider`, `transforms`, `reasoning`, `usage`, …); api.openai.com
 * answers 400 to a field it does not know, OpenRouter and LiteLLM take more. Pure data and one pure
 * function (`shapeRequestBody`), exported for the docs and tested field by field.
 *
 * Fields are top-level names; what is inside a forwarded field is the client's (e.g. `tools`).
 * Upstream-steering fields (`api_base`, `fallbacks`, …) never get this far: http/body-limits.ts
 * refuses them with 400 before anything is forwarded.
 */
import type { InferenceEndpoint } from "./adapter.js";

export type AdapterKind = "openai" | "openrouter" | "litellm" | "mock";

export interface FieldTable {
  adapter: AdapterKind;
  /** One line for the docs. */
  summary: string;
  /** Forwarded unchanged, per endpoint (the gateway may still set `model`, `stream_options`, the output cap). */
  forwarded: Readonly<Record<InferenceEndpoint, readonly string[]>>;
  /** Client field → the upstream field it becomes, and how. */
  renamed: Readonly<Record<string, { to: string; note: string }>>;
  /** Client field → why it is not sent. */
  dropped: Readonly<Record<string, string>>;
  /** A field none of the lists names: sent as is, or left out. */
  unknown: "forward" | "drop";
}

/** api.openai.com's CreateChatCompletionRequest properties (OpenAI's published OpenAPI document). */
const OPENAI_CHAT = [
  "model",
  "messages",
  "audio",
  "frequency_penalty",
  "function_call",
  "functions",
  "logit_bias",
  "logprobs",
  "max_completion_tokens",
  "max_tokens",
  "metadata",
  "modalities",
  "moderation",
  "n",
  "parallel_tool_calls",
  "prediction",
  "presence_penalty",
  "prompt_cache_key",
  "prompt_cache_options",
  "prompt_cache_retention",
  "reasoning_effort",
  "response_format",
  "safety_identifier",
  "seed",
  "service_tier",
  "stop",
  "store",
  "stream",
  "stream_options",
  "temperature",
  "tool_choice",
  "tools",
  "top_logprobs",
  "top_p",
  "user",
  "verbosity",
  "web_search_options",
] as const;

/** CreateCompletionRequest. */
const OPENAI_COMPLETIONS = [
  "model",
  "prompt",
  "best_of",
  "echo",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "max_tokens",
  "n",
  "presence_penalty",
  "seed",
  "stop",
  "stream",
  "stream_options",
  "suffix",
  "temperature",
  "top_p",
  "user",
] as const;

/** CreateEmbeddingRequest. */
const OPENAI_EMBEDDINGS = ["model", "input", "dimensions", "encoding_format", "user"] as const;

/** OpenRouter's request extras (its API reference, "Request" and "Provider routing"). */
const OPENROUTER_EXTRAS = [
  "provider",
  "transforms",
  "plugins",
  "reasoning",
  "usage",
  "route",
  "top_k",
  "top_a",
  "min_p",
  "repetition_penalty",
  "structured_outputs",
  "debug",
] as const;

/** LiteLLM proxy's documented request extras that do not pick an upstream (those are refused earlier). */
const LITELLM_EXTRAS = ["metadata", "tags", "top_k", "min_p", "repetition_penalty", "caching", "cache", "ttl", "num_retries", "timeout", "guardrails", "mock_response", "drop_params"] as const;

const GATEWAY_MODELS = "the gateway's own fallback list: the first entry is the model, the rest are tried in order by the gateway";

const OPENROUTER_ONLY: Record<string, string> = {
  models: GATEWAY_MODELS,
  provider: "OpenRouter's provider routing (the gateway reads its own provider ids from it)",
  transforms: "OpenRouter's prompt transforms",
  plugins: "OpenRouter's plugins (web search, file parser)",
  route: "OpenRouter's fallback switch",
  usage: "OpenRouter's usage accounting switch; OpenAI reports usage by itself (streams: stream_options.include_usage, which the gateway sets)",
  top_k: "not an OpenAI sampling parameter",
  top_a: "not an OpenAI sampling parameter",
  min_p: "not an OpenAI sampling parameter",
  repetition_penalty: "not an OpenAI sampling parameter",
  structured_outputs: "OpenRouter's switch; OpenAI takes response_format",
  debug: "OpenRouter's debug echo",
};

const uniq = (...lists: ReadonlyArray<readonly string[]>) => [...new Set(lists.flat())];

const byEndpoint = (extra: readonly string[], embeddingsExtra: readonly string[] = []) => ({
  "chat.completions": uniq(OPENAI_CHAT, extra),
  completions: uniq(OPENAI_COMPLETIONS, extra),
  embeddings: uniq(OPENAI_EMBEDDINGS, embeddingsExtra),
});

export const FIELD_TABLES: Readonly<Record<AdapterKind, FieldTable>> = {
  openai: {
    adapter: "openai",
    summary: "api.openai.com and OpenAI-compatible servers: only the fields OpenAI's API accepts; OpenRouter's extras dropped or mapped",
    forwarded: byEndpoint([]),
    renamed: {
      reasoning: { to: "reasoning_effort", note: "OpenRouter's `reasoning.effort` (none…xhigh) becomes `reasoning_effort` on chat, unless the client set `reasoning_effort`; the rest of `reasoning` is dropped" },
      max_tokens: { to: "max_completion_tokens", note: "for OpenAI's reasoning models (o1, o3, o4, gpt-5…), which refuse `max_tokens` on chat" },
    },
    dropped: OPENROUTER_ONLY,
    unknown: "drop",
  },
  openrouter: {
    adapter: "openrouter",
    summary: "OpenRouter: OpenAI's fields and OpenRouter's extras; `usage: {include: true}` always set for its cost report",
    forwarded: byEndpoint(OPENROUTER_EXTRAS, ["provider"]),
    renamed: {},
    dropped: { models: GATEWAY_MODELS },
    unknown: "forward",
  },
  litellm: {
    adapter: "litellm",
    summary: "LiteLLM proxy: OpenAI's fields, its documented extras, and provider-specific fields it passes on",
    forwarded: byEndpoint(LITELLM_EXTRAS, ["metadata", "tags", "caching", "cache", "timeout"]),
    renamed: {},
    dropped: {
      models: GATEWAY_MODELS,
      provider: OPENROUTER_ONLY.provider!,
      transforms: OPENROUTER_ONLY.transforms!,
      plugins: OPENROUTER_ONLY.plugins!,
      route: OPENROUTER_ONLY.route!,
      usage: OPENROUTER_ONLY.usage!,
    },
    unknown: "forward",
  },
  mock: {
    adapter: "mock",
    summary: "The built-in mock: everything (it reads its per-request `mock` behaviour from the body)",
    forwarded: byEndpoint(["mock"], ["mock"]),
    renamed: {},
    dropped: { models: GATEWAY_MODELS },
    unknown: "forward",
  },
};

/** The field table of a provider type that speaks OpenAI's format (others: OpenAI's own). */
export function fieldKindOf(type: string): AdapterKind {
  return Object.hasOwn(FIELD_TABLES, type) ? (type as AdapterKind) : "openai";
}

/** OpenAI's reasoning models: chat takes `max_completion_tokens` only (`max_tokens` is a 400). */
export function isOpenAIReasoningModel(upstreamModel: string): boolean {
  const m = upstreamModel.toLowerCase().replace(/^openai\//, "");
  return /^(o\d+)([-.:].*)?$/.test(m) || /^gpt-5([-.:].*)?$/.test(m) || m.startsWith("codex-");
}

/**
 * The name of the output cap on the upstream request: what the client used, except where the
 * upstream refuses it (OpenAI's reasoning models on chat). Legacy completions only know `max_tokens`.
 */
export function outputCapField(kind: AdapterKind, endpoint: InferenceEndpoint, upstreamModel: string, clientField: "max_tokens" | "max_completion_tokens"): "max_tokens" | "max_completion_tokens" {
  if (endpoint === "completions") return "max_tokens";
  if (kind === "openai" && isOpenAIReasoningModel(upstreamModel)) return "max_completion_tokens";
  return clientField;
}

const EFFORTS = new Set(["none", "minimal", "low", "medium", "high", "xhigh"]);

/**
 * Whether fields no list names are sent, when the provider config leaves it open: OpenAI itself (and
 * Azure OpenAI) refuse them; other OpenAI-compatible servers (vLLM, Ollama, the mock) take their own
 * extras (`top_k`, `chat_template_kwargs`, …), which a strict list would silently remove.
 */
export function defaultForwardUnknown(kind: AdapterKind, baseUrl: string): boolean {
  if (kind !== "openai") return FIELD_TABLES[kind].unknown === "forward";
  // Asked on every request: parsing the URL each time showed in the profile.
  let v = forwardsUnknown.get(baseUrl);
  if (v === undefined) {
    let host: string | null = null;
    try {
      host = new URL(baseUrl).hostname.toLowerCase();
    } catch {
      /* not a URL: nothing is forwarded */
    }
    v = host !== null && !(host === "api.openai.com" || host.endsWith(".openai.azure.com"));
    if (forwardsUnknown.size >= 1024) forwardsUnknown.clear();
    forwardsUnknown.set(baseUrl, v);
  }
  return v;
}
const forwardsUnknown = new Map<string, boolean>();

export interface ShapeOptions {
  /** Send fields no list names (the provider's `forward_unknown_fields`, else `defaultForwardUnknown`); default the table's. */
  forwardUnknown?: boolean;
  /** The model name the upstream gets (decides the output-cap field on OpenAI's reasoning models). */
  upstreamModel: string;
}

/**
 * The client's body as this kind of upstream takes it. Returns a new object; `model`,
 * `stream_options.include_usage` and the gateway's output cap are the adapter's to set afterwards.
 */
export function shapeRequestBody(kind: AdapterKind, endpoint: InferenceEndpoint, body: Readonly<Record<string, unknown>>, opts: ShapeOptions): Record<string, unknown> {
  const table = FIELD_TABLES[kind];
  const forwarded = forwardedSet(kind, endpoint);
  const forwardUnknown = opts.forwardUnknown ?? table.unknown === "forward";
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === undefined) continue;
    if (forwarded.has(k)) out[k] = v;
    else if (k in table.dropped || k in table.renamed) continue;
    else if (forwardUnknown) out[k] = v;
  }
  if (kind === "openai") {
    if (endpoint === "chat.completions" && body.reasoning_effort === undefined && body.reasoning && typeof body.reasoning === "object") {
      const effort = (body.reasoning as { effort?: unknown }).effort;
      if (typeof effort === "string" && EFFORTS.has(effort)) out.reasoning_effort = effort;
    }
    if (endpoint === "chat.completions" && isOpenAIReasoningModel(opts.upstreamModel) && out.max_tokens !== undefined) {
      if (out.max_completion_tokens === undefined) out.max_completion_tokens = out.max_tokens;
      delete out.max_tokens;
    }
  }
  return out;
}

const sets = new Map<string, ReadonlySet<string>>();
function forwardedSet(kind: AdapterKind, endpoint: InferenceEndpoint): ReadonlySet<string> {
  const key = `${kind}:${endpoint}`;
  let s = sets.get(key);
  if (!s) {
    s = new Set(FIELD_TABLES[kind].forwarded[endpoint]);
    sets.set(key, s);
  }
  return s;
}
