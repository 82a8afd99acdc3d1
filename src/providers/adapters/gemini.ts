import { AppError } from "../../core/errors.js";
import type { BuildRequestInput, InferenceEndpoint, OpeningEvent, ProviderAdapter, StreamTranslator } from "../adapter.js";
import type { ProviderTarget, UpstreamRequest } from "../types.js";
import { parseUsage } from "../usage.js";
import { joinUrl } from "../url.js";
import { isObject } from "./chat-shapes.js";
import { toGeminiBody } from "./gemini-request.js";
import { fromGeminiResponse, mapGeminiError } from "./gemini-response.js";
import { GeminiStreamTranslator } from "./gemini-stream.js";

export { GEMINI_FIELDS } from "./gemini-request.js";
export { geminiUsage } from "./gemini-response.js";
export { GeminiStreamTranslator } from "./gemini-stream.js";

/**
 * Google's native Gemini API (POST {base}/v1beta/models/{model}:generateContent, and
 * :streamGenerateContent?alt=sse whose every SSE data is a GenerateContentResponse). The request
 * is rebuilt from GEMINI_FIELDS; answers become chat completions and chunks.
 */
export class GeminiAdapter implements ProviderAdapter {
  buildRequest(target: ProviderTarget, input: BuildRequestInput): UpstreamRequest {
    if (input.endpoint !== "chat.completions") throw new AppError("invalid_request", `provider ${target.id} (Gemini) serves chat completions only, not ${input.endpoint}`);
    const headers: Record<string, string> = { "content-type": "application/json", accept: input.stream ? "text/event-stream" : "application/json", ...target.headers };
    if (target.apiKey) headers["x-goog-api-key"] = target.apiKey;
    return { url: generateUrl(target.baseUrl, input.upstreamModel, input.stream), method: "POST", headers, body: JSON.stringify(toGeminiBody(input)) };
  }

  translateResponse(json: Record<string, unknown>, _endpoint: InferenceEndpoint): Record<string, unknown> {
    return Array.isArray(json.candidates) || isObject(json.usageMetadata) || isObject(json.promptFeedback) ? fromGeminiResponse(json, "") : json;
  }

  streamTranslator(): StreamTranslator {
    return new GeminiStreamTranslator("");
  }

  usage(u: unknown) {
    return parseUsage(u);
  }

  openingEvent(data: string): OpeningEvent {
    const out: OpeningEvent = { errorStatus: null, model: null };
    try {
      const j = JSON.parse(data) as { error?: { code?: unknown }; modelVersion?: unknown };
      if (isObject(j.error)) {
        const code = Number(j.error.code);
        out.errorStatus = Number.isInteger(code) && code >= 400 && code < 600 ? code : 502;
      } else if (typeof j.modelVersion === "string" && j.modelVersion) out.model = j.modelVersion;
    } catch {
      /* not JSON */
    }
    return out;
  }

  mapError(status: number, body: string) {
    return mapGeminiError(status, body);
  }

  servedModel(planned: string): string {
    return planned;
  }

  passthroughBody(json: Record<string, unknown>, upstreamModel: string | null): Record<string, unknown> {
    return upstreamModel === null ? { ...json } : { ...json, model: upstreamModel };
  }
}

/** `{base}/v1beta/models/{model}:generateContent` (or the SSE stream); a base ending in a version is used as it is. */
export function generateUrl(base: string, model: string, stream: boolean): string {
  const root = /\/v1(beta|alpha)?\d*\/?$/.test(base) ? base : joinUrl(base, "/v1beta");
  const name = model.replace(/^models\//, "");
  return joinUrl(root, `/models/${encodeURIComponent(name)}${stream ? ":streamGenerateContent?alt=sse" : ":generateContent"}`);
}
