import type { BuildRequestInput, InferenceEndpoint, OpeningEvent, ProviderAdapter, StreamTranslator } from "../adapter.js";
import type { ProviderTarget, UpstreamRequest } from "../types.js";
import { defaultForwardUnknown, fieldKindOf, outputCapField, shapeRequestBody } from "../request-fields.js";
import { parseUsage } from "../usage.js";
import { joinUrl } from "../url.js";

/** OpenAI's inference paths, relative to a provider's base URL (which ends in `/v1`). */
export const OPENAI_PATHS: Record<InferenceEndpoint, string> = { "chat.completions": "/chat/completions", completions: "/completions", embeddings: "/embeddings" };

/**
 * OpenAI's wire format, as OpenAI, LiteLLM, vLLM, Ollama and the mock speak it. Always asks for the
 * final usage chunk on streams, so metering never depends on whether the client asked for it.
 */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  buildRequest(target: ProviderTarget, input: BuildRequestInput): UpstreamRequest {
    const kind = fieldKindOf(target.type);
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
    return { url: joinUrl(target.baseUrl, OPENAI_PATHS[input.endpoint]), method: "POST", headers, body: JSON.stringify(body) };
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
