import type { BuildRequestInput, InferenceEndpoint, OpeningEvent, ProviderAdapter, StreamTranslator } from "./adapter.js";
import type { ProviderTarget, UpstreamRequest } from "./types.js";
import { defaultForwardUnknown, outputCapField, shapeRequestBody } from "./request-fields.js";
import { parseUsage } from "./usage.js";

const PATHS: Record<InferenceEndpoint, string> = { "chat.completions": "/chat/completions", completions: "/completions", embeddings: "/embeddings" };

/**
 * OpenAI's wire format, as OpenAI, LiteLLM, vLLM, Ollama and the mock speak it. Always asks for the
 * final usage chunk on streams, so metering never depends on whether the client asked for it.
 */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  buildRequest(target: ProviderTarget, input: BuildRequestInput): UpstreamRequest {
    const kind = target.type;
    const body = shapeRequestBody(kind, input.endpoint, input.body, { upstreamModel: input.upstreamModel, forwardUnknown: target.forwardUnknownFields ?? defaultForwardUnknown(kind, target.baseUrl) });
    body.model = input.upstreamModel;
    if (input.stream) {
      const so = (body.stream_options && typeof body.stream_options === "object" ? body.stream_options : {}) as Record<string, unknown>;
      body.stream_options = { ...so, include_usage: true };
    }
    if (input.maxTokens !== null) {
      const field = outputCapField(kind, input.endpoint, input.upstreamModel, input.maxTokensField);
      delete body[field === "max_tokens" ? "max_completion_tokens" : "max_tokens"];
      body[field] = input.maxTokens;
    }
    this.addExtras(body);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: input.stream ? "text/event-stream" : "application/json",
      ...target.headers,
    };
    if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
    return { url: joinUrl(target.baseUrl, PATHS[input.endpoint]), method: "POST", headers, body: JSON.stringify(body) };
  }

  translateResponse(json: Record<string, unknown>): Record<string, unknown> {
    return json;
  }

  streamTranslator(): StreamTranslator | null {
    return null;
  }

  usage(u: unknown) {
    return parseUsage(u);
  }

  openingEvent(data: string): OpeningEvent {
    const out: OpeningEvent = { errorStatus: null, model: null };
    if (!data.startsWith("{")) return out;
    try {
      const j = JSON.parse(data) as { error?: { code?: unknown }; choices?: unknown; model?: unknown };
      if (typeof j.model === "string" && j.model) out.model = j.model;
      if (j.error && !Array.isArray(j.choices)) {
        const code = Number(j.error.code);
        out.errorStatus = Number.isInteger(code) && code >= 400 && code < 600 ? code : 502;
      }
    } catch {
      /* not JSON: the relay forwards it as it is */
    }
    return out;
  }

  mapError(status: number, body: string) {
    return { status, body };
  }

  servedModel(planned: string, _reported: unknown): string {
    return planned;
  }

  passthroughBody(json: Record<string, unknown>, upstreamModel: string | null): Record<string, unknown> {
    const out: Record<string, unknown> = { ...json };
    if (upstreamModel !== null) out.model = upstreamModel;
    this.addExtras(out);
    return out;
  }

  /** Provider-specific request fields (none for plain OpenAI). */
  protected addExtras(_body: Record<string, unknown>): void {}
}

/**
 * OpenRouter: OpenAI's format plus its cost accounting (`usage: {include: true}`), an answer that
 * may name another model than asked (the client's `models` list, its own fallbacks), and streams
 * that open with an error event instead of an HTTP error.
 */
export class OpenRouterAdapter extends OpenAICompatibleAdapter {
  override servedModel(planned: string, reported: unknown): string {
    return typeof reported === "string" && reported ? reported : planned;
  }

  protected override addExtras(body: Record<string, unknown>): void {
    const u = (body.usage && typeof body.usage === "object" ? body.usage : {}) as Record<string, unknown>;
    body.usage = { ...u, include: true };
  }
}

const openai = new OpenAICompatibleAdapter();
const openrouter = new OpenRouterAdapter();

/** The adapter of a provider type; unknown types speak OpenAI's format. */
export function adapterFor(target: Pick<ProviderTarget, "type">): ProviderAdapter {
  return target.type === "openrouter" ? openrouter : openai;
}

/** One inference request named by its OpenAI path (`/chat/completions`), built by the target's adapter. */
export function buildUpstreamRequest(target: ProviderTarget, input: Omit<BuildRequestInput, "endpoint"> & { path: string }): UpstreamRequest {
  const endpoint = (Object.keys(PATHS) as InferenceEndpoint[]).find((e) => PATHS[e] === input.path) ?? "chat.completions";
  return adapterFor(target).buildRequest(target, { ...input, endpoint });
}

export function joinUrl(base: string, path: string): string {
  return base.endsWith("/") ? base.slice(0, -1) + path : base + path;
}

/** Upstream model name for a route: the provider's prefix (e.g. LiteLLM's `openrouter/`) + the model. */
export function upstreamModelName(target: Pick<ProviderTarget, "modelPrefix">, model: string): string {
  return target.modelPrefix && !model.startsWith(target.modelPrefix) ? target.modelPrefix + model : model;
}
