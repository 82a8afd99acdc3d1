import assert from "node:assert/strict";
import { test } from "node:test";
import { GEMINI_FIELDS, GeminiAdapter, GeminiStreamTranslator, geminiUsage } from "../../../src/providers/adapters/gemini.js";
import { adapterFor, type BuildRequestInput, type ProviderTarget } from "../../../src/providers/index.js";
import { sseFixture } from "../../fakes/native-upstream.js";
import { translateTranscript } from "./stream-helpers.js";

const target: ProviderTarget = {
  id: "google",
  type: "gemini",
  baseUrl: "https://generativelanguage.googleapis.com",
  apiKey: "AIza-test",
  modelPrefix: "",
  headers: {},
  enabled: true,
  timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1, totalMs: 1 },
};
const adapter = adapterFor(target);
const input = (body: Record<string, unknown>, over: Partial<BuildRequestInput> = {}): BuildRequestInput => ({
  endpoint: "chat.completions",
  body,
  upstreamModel: "gemini-2.5-flash",
  stream: false,
  maxTokens: null,
  maxTokensField: "max_tokens",
  ...over,
});
const build = (body: Record<string, unknown>, over: Partial<BuildRequestInput> = {}) => {
  const r = adapter.buildRequest(target, input(body, over));
  return { ...r, json: JSON.parse(r.body!) as Record<string, any> };
};

test("the gemini type picks the native adapter: generateContent / streamGenerateContent?alt=sse with x-goog-api-key", () => {
  assert.ok(adapter instanceof GeminiAdapter);
  const r = build({ messages: [{ role: "user", content: "hi" }] });
  assert.equal(r.url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
  assert.equal(r.headers["x-goog-api-key"], "AIza-test");
  assert.equal(r.headers.authorization, undefined);
  assert.equal(build({ messages: [] }, { stream: true }).url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  assert.equal(adapter.buildRequest({ ...target, baseUrl: "https://gw.example/v1beta" }, input({ messages: [] }, { upstreamModel: "models/gemini-pro" })).url, "https://gw.example/v1beta/models/gemini-pro:generateContent");
  assert.equal(r.json.model, undefined, "the model is in the path, not the body");
});

test("chat messages become contents: system instruction, model role, inline and file images, function calls and responses by name", () => {
  const { json } = build({
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "Describe" }, { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } }, { type: "image_url", image_url: { url: "https://example.com/a.png" } }] },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":"a"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: '{"answer":42}' },
      { role: "tool", tool_call_id: "call_1", content: "plain" },
    ],
  });
  assert.deepEqual(json.systemInstruction, { parts: [{ text: "Be brief." }] });
  assert.deepEqual(json.contents, [
    { role: "user", parts: [{ text: "Describe" }, { inlineData: { mimeType: "image/jpeg", data: "/9j/4AAQ" } }, { fileData: { mimeType: "image/png", fileUri: "https://example.com/a.png" } }] },
    { role: "model", parts: [{ functionCall: { name: "lookup", args: { q: "a" } } }] },
    { role: "user", parts: [{ functionResponse: { name: "lookup", response: { answer: 42 } } }, { functionResponse: { name: "lookup", response: { content: "plain" } } }] },
  ]);
});

test("generationConfig, tools and toolConfig carry the sampling, cap, stop, n and tool fields", () => {
  const { json } = build(
    {
      messages: [{ role: "user", content: "hi" }],
      temperature: 0.2,
      top_p: 0.8,
      top_k: 20,
      stop: ["x", "y"],
      n: 2,
      seed: 7,
      response_format: { type: "json_schema", json_schema: { name: "s", schema: { type: "object" } } },
      reasoning: { max_tokens: 1000 },
      tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object", properties: {} } } }],
      tool_choice: { type: "function", function: { name: "f" } },
    },
    { maxTokens: 256 },
  );
  assert.deepEqual(json.generationConfig, {
    maxOutputTokens: 256,
    temperature: 0.2,
    topP: 0.8,
    topK: 20,
    seed: 7,
    stopSequences: ["x", "y"],
    candidateCount: 2,
    responseMimeType: "application/json",
    responseJsonSchema: { type: "object" },
    thinkingConfig: { thinkingBudget: 1000, includeThoughts: true },
  });
  assert.deepEqual(json.tools, [{ functionDeclarations: [{ name: "f", description: "d", parameters: { type: "object", properties: {} } }] }]);
  assert.deepEqual(json.toolConfig, { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } });
  assert.equal(build({ messages: [{ role: "user", content: "hi" }], max_completion_tokens: 99 }).json.generationConfig.maxOutputTokens, 99);
});

test("the field table: dropped fields and fields outside it never reach Gemini", () => {
  const body: Record<string, unknown> = { model: "x", messages: [{ role: "user", content: "hi" }], some_future_field: 1 };
  const droppedFields = GEMINI_FIELDS.filter((f) => f.action === "dropped").map((f) => f.field);
  for (const f of droppedFields) body[f] = 1;
  const { json } = build(body);
  assert.deepEqual(Object.keys(json), ["contents"]);
  for (const f of ["models", "provider", "transforms", "usage", "route", "plugins", "logprobs", "user"]) assert.ok(droppedFields.includes(f), f);
  assert.equal(new Set(GEMINI_FIELDS.map((f) => f.field)).size, GEMINI_FIELDS.length);
});

test("a GenerateContentResponse becomes a chat completion: candidates as choices, thoughts as reasoning, finish reasons, usage", () => {
  const json = adapter.translateResponse(
    {
      candidates: [
        { content: { role: "model", parts: [{ text: "Thinking…", thought: true }, { text: "Four." }] }, finishReason: "STOP", index: 0 },
        { content: { role: "model", parts: [{ functionCall: { name: "calc", args: { x: 2 } } }] }, finishReason: "STOP", index: 1 },
      ],
      usageMetadata: { promptTokenCount: 100, cachedContentTokenCount: 60, candidatesTokenCount: 10, thoughtsTokenCount: 30, totalTokenCount: 140 },
      modelVersion: "gemini-2.5-flash",
      responseId: "r1",
    },
    "chat.completions",
  ) as any;
  assert.equal(json.choices[0].message.content, "Four.");
  assert.equal(json.choices[0].message.reasoning, "Thinking…");
  assert.equal(json.choices[0].finish_reason, "stop");
  assert.equal(json.choices[1].finish_reason, "tool_calls");
  assert.deepEqual(JSON.parse(json.choices[1].message.tool_calls[0].function.arguments), { x: 2 });
  assert.deepEqual(json.usage, { prompt_tokens: 100, completion_tokens: 40, total_tokens: 140, prompt_tokens_details: { cached_tokens: 60 }, completion_tokens_details: { reasoning_tokens: 30 } });
  for (const [reason, finish] of [["MAX_TOKENS", "length"], ["SAFETY", "content_filter"], ["RECITATION", "content_filter"]] as const) {
    const r = adapter.translateResponse({ candidates: [{ content: { parts: [{ text: "x" }] }, finishReason: reason }] }, "chat.completions") as any;
    assert.equal(r.choices[0].finish_reason, finish);
  }
  const blocked = adapter.translateResponse({ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 } }, "chat.completions") as any;
  assert.equal(blocked.choices[0].finish_reason, "content_filter");
  assert.equal(geminiUsage({ promptTokenCount: 5 })?.completionTokens, 0);
});

test("recorded stream: each data is a whole response chunk; text, finish and the final usage (cached, thoughts) come out as OpenAI chunks", () => {
  const r = translateTranscript(sseFixture("gemini/text-cached.txt"), new GeminiStreamTranslator(""));
  assert.equal(r.content, "Hello from Gemini!");
  assert.deepEqual(r.finish, ["stop"]);
  assert.equal(r.payloads.at(-1), "[DONE]");
  assert.deepEqual(r.chunks.at(-1)!.usage, { prompt_tokens: 4120, completion_tokens: 30, total_tokens: 4150, prompt_tokens_details: { cached_tokens: 4000 }, completion_tokens_details: { reasoning_tokens: 24 } });
  assert.equal(r.chunks[0]!.model, "gemini-2.5-flash");
  assert.equal(r.chunks[0]!.choices[0].delta.role, "assistant");
});

test("recorded stream: a function call streams as one tool_calls delta and finish_reason tool_calls", () => {
  const r = translateTranscript(sseFixture("gemini/function-call.txt"), new GeminiStreamTranslator(""));
  const calls = r.chunks.flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? []);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].index, 0);
  assert.equal(calls[0].function.name, "get_weather");
  assert.deepEqual(JSON.parse(calls[0].function.arguments), { location: "Boston, MA" });
  assert.deepEqual(r.finish, ["tool_calls"]);
  assert.equal(r.tap.usage?.completionTokens, 7);
});

test("errors: an invalid key (Google's 400 API_KEY_INVALID) is the gateway's credential problem, error bodies read in OpenAI's shape", () => {
  const bad = adapter.mapError(400, JSON.stringify({ error: { code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT", details: [{ reason: "API_KEY_INVALID" }] } }));
  assert.equal(bad.status, 401);
  const other = adapter.mapError(400, JSON.stringify({ error: { code: 400, message: "Invalid JSON payload", status: "INVALID_ARGUMENT" } }));
  assert.equal(other.status, 400);
  assert.deepEqual(JSON.parse(other.body), { error: { message: "Invalid JSON payload", type: "INVALID_ARGUMENT", code: "INVALID_ARGUMENT" } });
  assert.equal(adapter.openingEvent('{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}').errorStatus, 503);
  assert.equal(adapter.openingEvent('{"candidates":[],"modelVersion":"gemini-x"}').model, "gemini-x");
});

test("thought signatures: a signed function call's signature rides in its tool-call id and goes back on the call's part next turn", () => {
  const r = translateTranscript(sseFixture("gemini/function-call-signed.txt"), new GeminiStreamTranslator(""));
  const calls = r.chunks.flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? []);
  assert.deepEqual(
    calls.map((c) => c.function.name),
    ["get_weather", "get_time"],
  );
  const signature = "CiQB0e2Kb9Xk3mP1sQ7vR2wZ8yT4uN6hJ0aLcD5fGiHjKlMnOp==";
  assert.equal(calls[0].id, `call_0_get_weather__thought__${signature}`);
  assert.equal(calls[1].id, "call_1_get_time", "only the first of parallel calls is signed");

  const nonStream = adapter.translateResponse(
    { candidates: [{ content: { role: "model", parts: [{ functionCall: { name: "calc", args: {} }, thoughtSignature: "c2ln" }] }, finishReason: "STOP" }] },
    "chat.completions",
  ) as any;
  assert.equal(nonStream.choices[0].message.tool_calls[0].id, "call_0_calc__thought__c2ln");

  // The client sends the conversation back with the ids it got.
  const { json } = build({
    messages: [
      { role: "user", content: "Weather and time in Paris?" },
      { role: "assistant", content: null, tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: c.function })) },
      { role: "tool", tool_call_id: calls[0].id, content: '{"temp":18}' },
      { role: "tool", tool_call_id: calls[1].id, content: '{"time":"14:05"}' },
    ],
  });
  assert.deepEqual(json.contents[1].parts, [
    { functionCall: { name: "get_weather", args: { location: "Paris" } }, thoughtSignature: signature },
    { functionCall: { name: "get_time", args: { city: "Paris" } } },
  ]);
  assert.deepEqual(
    json.contents.slice(2).flatMap((c: any) => c.parts.map((p: any) => p.functionResponse.name)),
    ["get_weather", "get_time"],
  );
});
