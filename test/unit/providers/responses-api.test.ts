import assert from "node:assert/strict";
import { test } from "node:test";
import { parseGatewayFile } from "../../../src/config/gateway-config.js";
import { usageOf } from "../../../src/providers/index.js";
import { buildResponsesRequest, RESPONSES_FIELDS, responsesBody, responsesNative, responsesOpening } from "../../../src/providers/responses-api.js";
import type { ProviderTarget } from "../../../src/providers/types.js";
import { openAISchemaProperties, validateOpenAI } from "../../helpers/openai-schema.js";

const target = (type: ProviderTarget["type"], baseUrl: string, responsesApi?: "native" | "translate"): ProviderTarget => ({
  id: "p",
  type,
  baseUrl,
  apiKey: "sk-upstream",
  modelPrefix: "",
  headers: {},
  timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1, totalMs: 1 },
  enabled: true,
  ...(responsesApi ? { responsesApi } : {}),
});

test("native by default on api.openai.com, Azure OpenAI and LiteLLM; translated on other OpenAI-compatible servers, OpenRouter, Anthropic, Gemini", () => {
  assert.equal(responsesNative(target("openai", "https://api.openai.com/v1")), true);
  assert.equal(responsesNative(target("openai", "https://my-res.openai.azure.com/openai/v1")), true);
  assert.equal(responsesNative(target("litellm", "http://litellm:4000/v1")), true);
  assert.equal(responsesNative(target("openai", "http://vllm:8000/v1")), false);
  assert.equal(responsesNative(target("openrouter", "https://openrouter.ai/api/v1")), false);
  assert.equal(responsesNative(target("mock", "http://127.0.0.1:1/v1")), false);
  // The config decides when it says so; a native wire format other than OpenAI's never goes native.
  assert.equal(responsesNative(target("openai", "http://vllm:8000/v1", "native")), true);
  assert.equal(responsesNative(target("openai", "https://api.openai.com/v1", "translate")), false);
  assert.equal(responsesNative(target("litellm", "http://litellm:4000/v1", "translate")), false);
  assert.equal(responsesNative(target("anthropic", "https://api.anthropic.com", "native")), false);
});

test("config: responses_api is native|translate, and native is refused for anthropic and gemini", () => {
  const ok = parseGatewayFile("providers:\n  - { id: a, type: openai, base_url: 'http://x/v1', responses_api: native }\n", "g.yaml", {});
  assert.equal(ok.providers[0]!.responses_api, "native");
  assert.throws(() => parseGatewayFile("providers:\n  - { id: a, type: openai, base_url: 'http://x/v1', responses_api: sometimes }\n", "g.yaml", {}), /responses_api/);
  assert.throws(() => parseGatewayFile("providers:\n  - { id: c, type: anthropic, responses_api: native }\n", "g.yaml", {}), /responses_api: native is for OpenAI-compatible/);
});

test("every forwarded field is one CreateResponse defines; OpenRouter's extras are dropped, the model renamed, store forced false", () => {
  const defined = new Set(openAISchemaProperties("CreateResponse"));
  assert.ok(defined.size > 20);
  for (const f of RESPONSES_FIELDS) assert.ok(defined.has(f), `${f} is forwarded but CreateResponse does not define it`);
  const body = responsesBody({
    body: {
      model: "openai/gpt-5",
      input: [{ role: "user", content: "hi" }],
      instructions: "Be brief.",
      store: true,
      include: ["reasoning.encrypted_content"],
      models: ["openai/gpt-4o"],
      provider: { order: ["openai"] },
      transforms: ["middle-out"],
      usage: { include: true },
      vendor_extra: 1,
      stream: true,
    },
    upstreamModel: "gpt-5",
    stream: false,
    maxOutputTokens: null,
  });
  assert.deepEqual(Object.keys(body).sort(), ["include", "input", "instructions", "model", "store"]);
  assert.equal(body.model, "gpt-5");
  assert.equal(body.store, false);
  assert.deepEqual(validateOpenAI("CreateResponse", body), []);
});

test("the output cap: the hold's when one is due, else the client's as sent; the request goes to <base>/responses with the target's key", () => {
  const withCap = responsesBody({ body: { model: "m", input: "hi", max_output_tokens: 50_000 }, upstreamModel: "gpt-4o", stream: true, maxOutputTokens: 16_384 });
  assert.equal(withCap.max_output_tokens, 16_384);
  assert.equal(withCap.stream, true);
  const asSent = responsesBody({ body: { model: "m", input: "hi", max_output_tokens: 300 }, upstreamModel: "gpt-4o", stream: false, maxOutputTokens: null });
  assert.equal(asSent.max_output_tokens, 300);
  assert.equal(responsesBody({ body: { model: "m", input: "hi" }, upstreamModel: "gpt-4o", stream: false, maxOutputTokens: null }).max_output_tokens, undefined);
  const req = buildResponsesRequest(target("openai", "https://api.openai.com/v1"), { body: { model: "m", input: "hi" }, upstreamModel: "gpt-4o", stream: true, maxOutputTokens: null });
  assert.equal(req.url, "https://api.openai.com/v1/responses");
  assert.equal(req.headers.authorization, "Bearer sk-upstream");
  assert.equal(req.headers.accept, "text/event-stream");
});

test("a stream's opening event: response.created names the model; error and response.failed are failures (429 for a rate limit)", () => {
  assert.deepEqual(responsesOpening(JSON.stringify({ type: "response.created", sequence_number: 0, response: { model: "gpt-4o-2024-08-06", error: null } })), { errorStatus: null, model: "gpt-4o-2024-08-06" });
  assert.equal(responsesOpening(JSON.stringify({ type: "error", code: "rate_limit_exceeded", message: "slow down", sequence_number: 0 })).errorStatus, 429);
  assert.equal(responsesOpening(JSON.stringify({ type: "error", code: "server_error", message: "x", sequence_number: 0 })).errorStatus, 502);
  assert.equal(responsesOpening(JSON.stringify({ type: "response.failed", response: { error: { code: "server_error" } } })).errorStatus, 502);
  assert.equal(responsesOpening("not json").errorStatus, null);
});

test("Responses usage: cached input and reasoning output are read from their details", () => {
  const u = usageOf({ input_tokens: 1200, input_tokens_details: { cached_tokens: 1000 }, output_tokens: 300, output_tokens_details: { reasoning_tokens: 200 }, total_tokens: 1500 });
  assert.deepEqual(u, { promptTokens: 1200, completionTokens: 300, totalTokens: 1500, estimated: false, cachedTokens: 1000, reasoningTokens: 200 });
  assert.deepEqual(usageOf({ input_tokens: 5, output_tokens: 2 }), { promptTokens: 5, completionTokens: 2, totalTokens: 7, estimated: false });
});
