import { AppError } from "../../core/errors.js";
import type { BuildRequestInput, InferenceEndpoint, OpeningEvent, ProviderAdapter, StreamTranslator } from "../adapter.js";
import type { ProviderTarget, UpstreamRequest } from "../types.js";
import { parseUsage } from "../usage.js";
import { joinUrl } from "../url.js";
import { ANTHROPIC_VERSION, toAnthropicBody } from "./anthropic-request.js";
import { ERROR_STATUS, fromAnthropicMessage, gatewayStatus, openAiErrorBody } from "./anthropic-response.js";
import { AnthropicStreamTranslator } from "./anthropic-stream.js";

export { ANTHROPIC_FIELDS } from "./anthropic-request.js";
export { anthropicUsage } from "./anthropic-response.js";
export { AnthropicStreamTranslator } from "./anthropic-stream.js";

/**
 * Anthropic's native Messages API (POST {base}/v1/messages). The client speaks OpenAI's chat
 * shape; the request is rebuilt field by field from ANTHROPIC_FIELDS (nothing else is sent, so an
 * OpenAI- or OpenRouter-only field never reaches Anthropic), the answer and its SSE events are
 * turned back into chat completions and chunks.
 */
export class AnthropicAdapter implements ProviderAdapter {
  buildRequest(target: ProviderTarget, input: BuildRequestInput): UpstreamRequest {
    if (input.endpoint !== "chat.completions") throw new AppError("invalid_request", `provider ${target.id} (Anthropic) serves chat completions only, not ${input.endpoint}`);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: input.stream ? "text/event-stream" : "application/json",
      "anthropic-version": ANTHROPIC_VERSION,
      ...target.headers,
    };
    if (target.apiKey) headers["x-api-key"] = target.apiKey;
    return { url: messagesUrl(target.baseUrl), method: "POST", headers, body: JSON.stringify(toAnthropicBody(input)) };
  }

  translateResponse(json: Record<string, unknown>, _endpoint: InferenceEndpoint): Record<string, unknown> {
    return json.type === "message" || Array.isArray(json.content) ? fromAnthropicMessage(json) : json;
  }

  streamTranslator(): StreamTranslator {
    return new AnthropicStreamTranslator();
  }

  /** The translated answer carries OpenAI's usage shape. */
  usage(u: unknown) {
    return parseUsage(u);
  }

  openingEvent(data: string): OpeningEvent {
    const out: OpeningEvent = { errorStatus: null, model: null };
    try {
      const j = JSON.parse(data) as { type?: unknown; error?: { type?: unknown }; message?: { model?: unknown } };
      if (j.type === "error") out.errorStatus = gatewayStatus(ERROR_STATUS[String(j.error?.type)] ?? 502);
      else if (typeof j.message?.model === "string" && j.message.model) out.model = j.message.model;
    } catch {
      /* not JSON: the translator skips it */
    }
    return out;
  }

  mapError(status: number, body: string) {
    return { status: gatewayStatus(status), body: openAiErrorBody(body) };
  }

  servedModel(planned: string): string {
    return planned;
  }

  passthroughBody(json: Record<string, unknown>, upstreamModel: string | null): Record<string, unknown> {
    return upstreamModel === null ? { ...json } : { ...json, model: upstreamModel };
  }
}

/** `{base}/v1/messages`; a base that already ends in /v1 is taken as it is. */
function messagesUrl(base: string): string {
  return joinUrl(base, /\/v1\/?$/.test(base) ? "/messages" : "/v1/messages");
}
