import assert from "node:assert/strict";
import { test } from "node:test";
import { adapterFor } from "../../../src/providers/index.js";
import type { ProviderTarget } from "../../../src/providers/types.js";
import { defaultForwardUnknown, FIELD_TABLES, isOpenAIReasoningModel, outputCapField, shapeRequestBody } from "../../../src/providers/request-fields.js";
import { openAISchemaProperties, validateOpenAI } from "../../helpers/openai-schema.js";

const OR_BODY = {
  model: "openai/gpt-4o-mini",
  messages: [{ role: "user", content: "hi" }],
  temperature: 0.2,
  models: ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"],
  provider: { order: ["openai"] },
  transforms: ["middle-out"],
  usage: { include: true },
  route: "fallback",
  plugins: [{ id: "web" }],
  reasoning: { effort: "high", exclude: true },
  top_k: 40,
  vendor_extra: 1,
};

test("openai (api.openai.com): OpenRouter's extras dropped, reasoning.effort → reasoning_effort, unknown fields dropped", () => {
  const out = shapeRequestBody("openai", "chat.completions", OR_BODY, { upstreamModel: "gpt-4o-mini", forwardUnknown: defaultForwardUnknown("openai", "https://api.openai.com/v1") });
  assert.deepEqual(Object.keys(out).sort(), ["messages", "model", "reasoning_effort", "temperature"]);
  assert.equal(out.reasoning_effort, "high");
  // What is left is a request OpenAI's published schema accepts.
  assert.deepEqual(validateOpenAI("CreateChatCompletionRequest", out), []);
  // The client's own reasoning_effort wins over OpenRouter's object; an unknown effort is not invented.
  assert.equal(shapeRequestBody("openai", "chat.completions", { ...OR_BODY, reasoning_effort: "low" }, { upstreamModel: "gpt-4o" }).reasoning_effort, "low");
  assert.equal(shapeRequestBody("openai", "chat.completions", { ...OR_BODY, reasoning: { max_tokens: 100 } }, { upstreamModel: "gpt-4o" }).reasoning_effort, undefined);
});

test("every field the openai table forwards is one OpenAI's schema defines (and no dropped field is)", () => {
  const t = FIELD_TABLES.openai;
  for (const [endpoint, schema] of [["chat.completions", "CreateChatCompletionRequest"], ["completions", "CreateCompletionRequest"], ["embeddings", "CreateEmbeddingRequest"]] as const) {
    const defined = new Set(openAISchemaProperties(schema));
    assert.ok(defined.has("model") && defined.size > 4, schema);
    for (const f of t.forwarded[endpoint]) assert.ok(defined.has(f), `${f} is forwarded to OpenAI's ${endpoint}, which does not define it`);
    for (const f of Object.keys(t.dropped)) assert.ok(!defined.has(f) && !t.forwarded[endpoint].includes(f), `${f} is dropped but OpenAI's ${endpoint} defines it`);
    // Whatever the client adds, only the forwarded fields are left.
    const base = endpoint === "chat.completions" ? { model: "gpt-4o", messages: [{ role: "user", content: "x" }] } : endpoint === "completions" ? { model: "gpt-3.5-turbo-instruct", prompt: "x" } : { model: "text-embedding-3-small", input: "x" };
    const dirty = { ...base, ...Object.fromEntries(Object.keys(t.dropped).map((k) => [k, { x: 1 }])), nonsense: true };
    const shaped = shapeRequestBody("openai", endpoint, dirty, { upstreamModel: base.model, forwardUnknown: false });
    assert.deepEqual(Object.keys(shaped).sort(), Object.keys(base).sort());
  }
});

test("openai-compatible servers other than OpenAI keep their own extras unless configured strict", () => {
  assert.equal(defaultForwardUnknown("openai", "https://api.openai.com/v1"), false);
  assert.equal(defaultForwardUnknown("openai", "https://my-res.openai.azure.com/openai"), false);
  assert.equal(defaultForwardUnknown("openai", "http://127.0.0.1:8000/v1"), true);
  const out = shapeRequestBody("openai", "chat.completions", OR_BODY, { upstreamModel: "llama", forwardUnknown: true });
  assert.equal(out.vendor_extra, 1);
  // OpenRouter's dialect is still not passed to a plain OpenAI-type server.
  for (const f of ["models", "provider", "transforms", "usage", "route", "plugins", "reasoning", "top_k"]) assert.equal(out[f], undefined, f);
});

test("openrouter forwards its extras (not `models`: the gateway's fallback list); litellm keeps its own and OpenAI's", () => {
  const or = shapeRequestBody("openrouter", "chat.completions", OR_BODY, { upstreamModel: "openai/gpt-4o-mini" });
  for (const f of ["provider", "transforms", "usage", "route", "plugins", "reasoning", "top_k", "vendor_extra", "temperature"]) assert.notEqual(or[f], undefined, f);
  assert.equal(or.models, undefined);
  const ll = shapeRequestBody("litellm", "chat.completions", { ...OR_BODY, metadata: { a: "b" }, tags: ["t"], mock_response: "x" }, { upstreamModel: "gpt-4o" });
  for (const f of ["metadata", "tags", "mock_response", "top_k", "vendor_extra", "temperature"]) assert.notEqual(ll[f], undefined, f);
  for (const f of ["models", "provider", "transforms", "route", "plugins", "usage"]) assert.equal(ll[f], undefined, f);
  const mock = shapeRequestBody("mock", "chat.completions", { ...OR_BODY, mock: { chunks: 2 } }, { upstreamModel: "gpt-4o-mini" });
  assert.deepEqual(mock.mock, { chunks: 2 });
});

test("embeddings and legacy completions get only their own fields on OpenAI", () => {
  const e = shapeRequestBody("openai", "embeddings", { model: "m", input: "x", dimensions: 8, temperature: 1, provider: {} }, { upstreamModel: "m", forwardUnknown: false });
  assert.deepEqual(e, { model: "m", input: "x", dimensions: 8 });
  const c = shapeRequestBody("openai", "completions", { model: "m", prompt: "x", suffix: "y", messages: [], tools: [] }, { upstreamModel: "m", forwardUnknown: false });
  assert.deepEqual(c, { model: "m", prompt: "x", suffix: "y" });
});

test("OpenAI's reasoning models take max_completion_tokens on chat; other models keep the client's field", () => {
  for (const m of ["o1", "o1-mini", "o3-2025-04-16", "o4-mini", "gpt-5", "gpt-5-mini", "openai/gpt-5.1", "gpt-5-codex"]) assert.ok(isOpenAIReasoningModel(m), m);
  for (const m of ["gpt-4o", "gpt-4.1-mini", "openai/gpt-4o-mini", "llama-3-o1", "omni-moderation"]) assert.ok(!isOpenAIReasoningModel(m), m);
  assert.equal(outputCapField("openai", "chat.completions", "o3-mini", "max_tokens"), "max_completion_tokens");
  assert.equal(outputCapField("openai", "chat.completions", "gpt-4o", "max_tokens"), "max_tokens");
  assert.equal(outputCapField("openrouter", "chat.completions", "openai/o3-mini", "max_tokens"), "max_tokens");
  assert.equal(outputCapField("openai", "completions", "gpt-3.5-turbo-instruct", "max_completion_tokens"), "max_tokens");
  const out = shapeRequestBody("openai", "chat.completions", { model: "o3", messages: [], max_tokens: 100 }, { upstreamModel: "o3" });
  assert.deepEqual([out.max_tokens, out.max_completion_tokens], [undefined, 100]);
});

const target = (type: ProviderTarget["type"], baseUrl: string, extra: Partial<ProviderTarget> = {}): ProviderTarget => ({
  id: "p",
  type,
  baseUrl,
  apiKey: "k",
  modelPrefix: "",
  headers: {},
  enabled: true,
  timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1, totalMs: 1 },
  ...extra,
});

test("the adapter builds the upstream body through the table: the gateway's cap under the field the model takes", () => {
  const a = adapterFor({ type: "openai" });
  const req = a.buildRequest(target("openai", "https://api.openai.com/v1"), {
    endpoint: "chat.completions",
    body: { ...OR_BODY, max_tokens: 50 },
    upstreamModel: "o4-mini",
    stream: true,
    maxTokens: 40,
    maxTokensField: "max_tokens",
  });
  const body = JSON.parse(req.body!) as Record<string, unknown>;
  assert.equal(body.model, "o4-mini");
  assert.equal(body.max_tokens, undefined);
  assert.equal(body.max_completion_tokens, 40);
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.equal(body.models, undefined);
  assert.equal(body.vendor_extra, undefined);
  assert.deepEqual(validateOpenAI("CreateChatCompletionRequest", body), []);
  // A provider configured to forward unknown fields keeps them (still without OpenRouter's).
  const lenient = JSON.parse(a.buildRequest(target("openai", "https://api.openai.com/v1", { forwardUnknownFields: true }), { endpoint: "chat.completions", body: OR_BODY, upstreamModel: "gpt-4o", stream: false, maxTokens: null, maxTokensField: "max_tokens" }).body!) as Record<string, unknown>;
  assert.equal(lenient.vendor_extra, 1);
  assert.equal(lenient.provider, undefined);
});

test("openai (api.openai.com): an earlier answer's reasoning and reasoning_details come off the messages; a vLLM-style server keeps them", () => {
  const body = {
    model: "m",
    messages: [
      { role: "user", content: "hi" },
      { role: "assistant", content: "yo", reasoning: "r", reasoning_details: [{ type: "reasoning.text", text: "r", signature: "s" }] },
    ],
  };
  const strict = shapeRequestBody("openai", "chat.completions", body, { upstreamModel: "gpt-4o", forwardUnknown: false });
  assert.deepEqual(strict.messages, [
    { role: "user", content: "hi" },
    { role: "assistant", content: "yo" },
  ]);
  assert.equal((body.messages[1] as Record<string, unknown>).reasoning_details !== undefined, true, "the client's body is not changed");
  const loose = shapeRequestBody("openai", "chat.completions", body, { upstreamModel: "m", forwardUnknown: true });
  assert.equal(loose.messages, body.messages);
  const plain = { model: "m", messages: [{ role: "user", content: "hi" }] };
  assert.equal(shapeRequestBody("openai", "chat.completions", plain, { upstreamModel: "gpt-4o", forwardUnknown: false }).messages, plain.messages, "nothing to take off: the same array");
});
