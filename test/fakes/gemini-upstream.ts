import { sseFixture, startNativeUpstream, type NativeUpstream, type RecordedRequest, type ScriptedReply } from "./native-upstream.js";

/**
 * Gemini's REST API as documented: POST /v1beta/models/{model}:generateContent and
 * :streamGenerateContent?alt=sse with `x-goog-api-key`; unknown fields refused with 400
 * INVALID_ARGUMENT ("Unknown name"), a wrong key with 400 API_KEY_INVALID as Google does.
 */
const FIELDS = new Set(["contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config", "generationConfig", "generation_config", "safetySettings", "cachedContent"]);
const GENERATION = new Set(["maxOutputTokens", "temperature", "topP", "topK", "stopSequences", "candidateCount", "seed", "presencePenalty", "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema", "thinkingConfig"]);

export const GEMINI_KEY = "AIzaSyFakeGeminiUpstreamKey0123456789abc";

const invalid = (message: string, status = 400, code = "INVALID_ARGUMENT"): ScriptedReply => ({ status, error: { error: { code: status, message, status: code } } });

function check(r: RecordedRequest): ScriptedReply | null {
  const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent\?alt=sse)$/.exec(r.url);
  if (r.method !== "POST" || !m) return invalid(`Not found: ${r.url}`, 404, "NOT_FOUND");
  if (r.headers["x-goog-api-key"] !== GEMINI_KEY) return { status: 400, error: { error: { code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT", details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }] } } };
  for (const k of Object.keys(r.body)) if (!FIELDS.has(k)) return invalid(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
  const gc = (r.body.generationConfig ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(gc)) if (!GENERATION.has(k)) return invalid(`Invalid JSON payload received. Unknown name "${k}" at 'generation_config': Cannot find field.`);
  if (!Array.isArray(r.body.contents) || r.body.contents.length === 0) return invalid("* GenerateContentRequest.contents: contents is not specified");
  for (const c of r.body.contents as Array<{ role?: string }>) if (c.role !== "user" && c.role !== "model") return invalid(`Please use a valid role: user, model.`);
  return null;
}

export function geminiResponse(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    candidates: [{ content: { parts: [{ text: "Hi! I am Gemini." }], role: "model" }, finishReason: "STOP", index: 0 }],
    usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 6, totalTokenCount: 14 },
    modelVersion: "gemini-2.5-flash",
    responseId: "gen-fake-1",
    ...over,
  };
}

export function startGeminiUpstream(): Promise<NativeUpstream> {
  return startNativeUpstream({
    check,
    fallback: (r) => (r.url.includes(":streamGenerateContent") ? { sse: sseFixture("gemini/text-cached.txt") } : { json: geminiResponse() }),
  });
}
