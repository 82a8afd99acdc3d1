import assert from "node:assert/strict";
import { test } from "node:test";
import { ANTHROPIC_FIELDS, AnthropicAdapter, AnthropicStreamTranslator, anthropicUsage } from "../../../src/providers/adapters/anthropic.js";
import { adapterFor, type BuildRequestInput, type ProviderTarget } from "../../../src/providers/index.js";
import { sseFixture } from "../../fakes/native-upstream.js";
import { translateTranscript } from "./stream-helpers.js";

const target: ProviderTarget = {
  id: "claude",
  type: "anthropic",
  baseUrl: "https://api.anthropic.com",
  apiKey: "sk-ant-test",
  modelPrefix: "",
  headers: {},
  enabled: true,
  timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1, totalMs: 1 },
};
const adapter = adapterFor(target);
const input = (body: Record<string, unknown>, over: Partial<BuildRequestInput> = {}): BuildRequestInput => ({
  endpoint: "chat.completions",
  body,
  upstreamModel: "claude-sonnet-4-5",
  stream: false,
  maxTokens: null,
  maxTokensField: "max_tokens",
  ...over,
});
const build = (body: Record<string, unknown>, over: Partial<BuildRequestInput> = {}) => {
  const r = adapter.buildRequest(target, input(body, over));
  return { ...r, json: JSON.parse(r.body!) as Record<string, any> };
};

test("the anthropic type picks the native adapter: POST {base}/v1/messages with x-api-key and anthropic-version, no bearer", () => {
  assert.ok(adapter instanceof AnthropicAdapter);
  const r = build({ model: "x", messages: [{ role: "user", content: "hi" }] });
  assert.equal(r.url, "https://api.anthropic.com/v1/messages");
  assert.equal(r.headers["x-api-key"], "sk-ant-test");
  assert.equal(r.headers["anthropic-version"], "2023-06-01");
  assert.equal(r.headers.authorization, undefined);
  assert.equal(r.json.model, "claude-sonnet-4-5");
  assert.equal(adapter.buildRequest({ ...target, baseUrl: "https://proxy.example/v1" }, input({ messages: [] })).url, "https://proxy.example/v1/messages");
});

test("chat messages become Messages: system hoisted, images as base64/url sources, tool calls and results, cache_control kept", () => {
  const { json } = build({
    messages: [
      { role: "system", content: [{ type: "text", text: "You are terse.", cache_control: { type: "ephemeral" } }] },
      { role: "user", content: [{ type: "text", text: "What is in these?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }, { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }] },
      { role: "assistant", content: "", tool_calls: [{ id: "toolu_1", type: "function", function: { name: "lookup", arguments: '{"q":"cat"}' } }, { id: "toolu_2", type: "function", function: { name: "lookup", arguments: '{"q":"dog"}' } }] },
      { role: "tool", tool_call_id: "toolu_1", content: "a cat" },
      { role: "tool", tool_call_id: "toolu_2", content: "a dog" },
      { role: "developer", content: "Answer in English." },
    ],
  });
  assert.deepEqual(json.system, [
    { type: "text", text: "You are terse.", cache_control: { type: "ephemeral" } },
    { type: "text", text: "Answer in English." },
  ]);
  assert.deepEqual(json.messages[0], {
    role: "user",
    content: [
      { type: "text", text: "What is in these?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ],
  });
  assert.deepEqual(json.messages[1], {
    role: "assistant",
    content: [
      { type: "tool_use", id: "toolu_1", name: "lookup", input: { q: "cat" } },
      { type: "tool_use", id: "toolu_2", name: "lookup", input: { q: "dog" } },
    ],
  });
  // Both results in the one user turn after the tool calls.
  assert.deepEqual(json.messages[2], {
    role: "user",
    content: [
      { type: "tool_result", tool_use_id: "toolu_1", content: "a cat" },
      { type: "tool_result", tool_use_id: "toolu_2", content: "a dog" },
    ],
  });
  assert.equal(json.messages.length, 3);
  // Plain system strings are joined into one string.
  assert.equal(build({ messages: [{ role: "system", content: "A" }, { role: "system", content: "B" }, { role: "user", content: "hi" }] }).json.system, "A\n\nB");
});

test("tools, tool_choice, parallel_tool_calls, stop, sampling and user are renamed or translated", () => {
  const { json } = build({
    messages: [{ role: "user", content: "hi" }],
    tools: [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
    tool_choice: "required",
    parallel_tool_calls: false,
    stop: "END",
    temperature: 0.3,
    top_p: 0.9,
    top_k: 40,
    user: "u-42",
  });
  assert.deepEqual(json.tools, [{ name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }]);
  assert.deepEqual(json.tool_choice, { type: "any", disable_parallel_tool_use: true });
  assert.deepEqual(json.stop_sequences, ["END"]);
  assert.equal(json.temperature, 0.3);
  assert.equal(json.top_p, 0.9);
  assert.equal(json.top_k, 40);
  assert.deepEqual(json.metadata, { user_id: "u-42" });
  const named = build({ messages: [{ role: "user", content: "hi" }], tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "f" } } }).json;
  assert.deepEqual(named.tool_choice, { type: "tool", name: "f" });
  assert.deepEqual(named.tools[0].input_schema, { type: "object", properties: {} });
});

test("max_tokens is always sent: the pipeline's cap, else the client's, else the model's max output, else 4096", () => {
  const m = [{ role: "user", content: "hi" }];
  assert.equal(build({ messages: m, max_tokens: 100 }, { maxTokens: 50 }).json.max_tokens, 50);
  assert.equal(build({ messages: m, max_completion_tokens: 300 }).json.max_tokens, 300);
  assert.equal(build({ messages: m }, { modelMaxOutput: 64000 }).json.max_tokens, 64000);
  assert.equal(build({ messages: m }).json.max_tokens, 4096);
});

test("reasoning becomes a thinking budget below max_tokens; thinking passes as given", () => {
  const m = [{ role: "user", content: "hi" }];
  assert.deepEqual(build({ messages: m, max_tokens: 8000, reasoning: { max_tokens: 2000 }, temperature: 0.5 }).json.thinking, { type: "enabled", budget_tokens: 2000 });
  assert.equal(build({ messages: m, max_tokens: 8000, reasoning: { max_tokens: 2000 }, temperature: 0.5 }).json.temperature, undefined, "thinking refuses temperature");
  assert.deepEqual(build({ messages: m, max_tokens: 10000, reasoning: { effort: "high" } }).json.thinking, { type: "enabled", budget_tokens: 8000 });
  assert.deepEqual(build({ messages: m, max_tokens: 4000, thinking: { type: "enabled", budget_tokens: 1024 } }).json.thinking, { type: "enabled", budget_tokens: 1024 });
  assert.equal(build({ messages: m, max_tokens: 500, reasoning: { effort: "low" } }).json.thinking, undefined, "no room for the minimum budget");
});

test("the field table: every dropped field is left out, fields outside the table never reach Anthropic", () => {
  const body: Record<string, unknown> = { model: "x", messages: [{ role: "user", content: "hi" }], some_future_field: 1 };
  const droppedFields = ANTHROPIC_FIELDS.filter((f) => f.action === "dropped").map((f) => f.field);
  for (const f of droppedFields) body[f] = f === "stream_options" ? { include_usage: true } : 1;
  const { json } = build(body);
  for (const f of [...droppedFields, "some_future_field"]) assert.equal(json[f], undefined, f);
  for (const f of ["models", "provider", "transforms", "usage", "route", "plugins", "n", "response_format", "logprobs", "seed"]) assert.ok(droppedFields.includes(f), `${f} is in the table as dropped`);
  assert.deepEqual(Object.keys(json).sort(), ["max_tokens", "messages", "model"]);
  // Every rule names an action and nothing is listed twice.
  assert.equal(new Set(ANTHROPIC_FIELDS.map((f) => f.field)).size, ANTHROPIC_FIELDS.length);
});

test("a Message answer becomes a chat completion: text, tool calls, thinking as reasoning, finish reasons, usage with cache tokens", () => {
  const json = adapter.translateResponse(
    {
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [
        { type: "thinking", thinking: "Let me look.", signature: "sig" },
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "toolu_9", name: "get_weather", input: { city: "Paris" } },
      ],
      stop_reason: "tool_use",
      usage: { input_tokens: 10, cache_creation_input_tokens: 200, cache_read_input_tokens: 3000, output_tokens: 40 },
    },
    "chat.completions",
  ) as any;
  assert.equal(json.object, "chat.completion");
  assert.equal(json.choices[0].finish_reason, "tool_calls");
  assert.equal(json.choices[0].message.content, "Checking.");
  assert.equal(json.choices[0].message.reasoning, "Let me look.");
  assert.deepEqual(json.choices[0].message.tool_calls, [{ id: "toolu_9", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
  assert.deepEqual(json.usage, { prompt_tokens: 3210, completion_tokens: 40, total_tokens: 3250, prompt_tokens_details: { cached_tokens: 3000, cache_write_tokens: 200 } });
  assert.deepEqual(adapter.usage(json.usage), { promptTokens: 3210, completionTokens: 40, totalTokens: 3250, cachedTokens: 3000, cacheWriteTokens: 200, estimated: false });
  for (const [stop, finish] of [["end_turn", "stop"], ["stop_sequence", "stop"], ["max_tokens", "length"], ["tool_use", "tool_calls"]] as const) {
    const r = adapter.translateResponse({ type: "message", content: [{ type: "text", text: "x" }], stop_reason: stop, usage: { input_tokens: 1, output_tokens: 1 } }, "chat.completions") as any;
    assert.equal(r.choices[0].finish_reason, finish, stop);
  }
  assert.equal(anthropicUsage({ input_tokens: 5, output_tokens: 1 })?.cachedTokens, undefined);
});

test("recorded stream: text deltas, the closing usage chunk with cache reads and writes, one [DONE]", () => {
  const r = translateTranscript(sseFixture("anthropic/text-cached.txt"), new AnthropicStreamTranslator());
  assert.equal(r.content, "Hello from Claude!");
  assert.deepEqual(r.finish, ["stop"]);
  assert.equal(r.payloads.at(-1), "[DONE]");
  assert.equal(r.payloads.filter((p) => p === "[DONE]").length, 1);
  const last = r.chunks.at(-1)!;
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, { prompt_tokens: 4221, completion_tokens: 15, total_tokens: 4236, prompt_tokens_details: { cached_tokens: 3000, cache_write_tokens: 1200 } });
  assert.equal(r.tap.usage?.cacheWriteTokens, 1200);
  assert.equal(r.chunks[0]!.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
  assert.equal(r.chunks[0]!.choices[0].delta.role, "assistant");
  // A client that did not ask for usage gets no usage chunk, the gateway still reads it.
  const quiet = translateTranscript(sseFixture("anthropic/text-cached.txt"), new AnthropicStreamTranslator(), false);
  assert.ok(quiet.chunks.every((c) => c.usage === undefined));
  assert.equal(quiet.tap.usage?.promptTokens, 4221);
});

test("recorded stream: a tool_use block streams as tool_calls with its arguments in pieces", () => {
  const r = translateTranscript(sseFixture("anthropic/tool-use.txt"), new AnthropicStreamTranslator());
  assert.equal(r.content, "Let me check the weather.");
  const calls = r.chunks.flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? []);
  assert.equal(calls[0].id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  assert.equal(calls[0].function.name, "get_weather");
  assert.ok(calls.every((c: any) => c.index === 0));
  assert.deepEqual(JSON.parse(calls.map((c: any) => c.function.arguments).join("")), { location: "San Francisco, CA" });
  assert.deepEqual(r.finish, ["tool_calls"]);
  assert.equal(r.tap.usage?.completionTokens, 89);
  assert.equal(r.tap.usage?.promptTokens, 472);
});

test("recorded stream: thinking deltas come out as reasoning, and with the signature as OpenRouter's reasoning_details", () => {
  const r = translateTranscript(sseFixture("anthropic/thinking.txt"), new AnthropicStreamTranslator());
  assert.equal(r.reasoning, "27 * 453: 27 * 400 = 10800, 27 * 53 = 1431. Sum: 12231.");
  assert.equal(r.content, "27 * 453 = 12,231");
  const details = r.chunks.flatMap((c) => c.choices?.[0]?.delta?.reasoning_details ?? []);
  assert.ok(details.every((d) => d.type === "reasoning.text" && d.index === 0 && d.format === "anthropic-claude-v1"));
  assert.equal(details.map((d) => d.text).join(""), r.reasoning, "the entries add up to the thinking");
  assert.deepEqual(
    details.filter((d) => d.signature).map((d) => d.signature),
    ["EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"],
  );
});

test("signed thinking goes back to Anthropic: reasoning_details of an earlier answer become its thinking blocks, first in the turn", () => {
  const answer = adapter.translateResponse(
    {
      type: "message",
      content: [
        { type: "thinking", thinking: "Need the weather.", signature: "sig-1" },
        { type: "redacted_thinking", data: "enc-2" },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
      ],
      stop_reason: "tool_use",
      usage: { input_tokens: 5, output_tokens: 9 },
    },
    "chat.completions",
  ) as any;
  const message = answer.choices[0].message;
  assert.deepEqual(message.reasoning_details, [
    { type: "reasoning.text", text: "Need the weather.", format: "anthropic-claude-v1", index: 0, signature: "sig-1" },
    { type: "reasoning.encrypted", data: "enc-2", format: "anthropic-claude-v1", index: 1 },
  ]);
  const { json } = build({
    max_tokens: 4000,
    reasoning: { max_tokens: 2000 },
    messages: [{ role: "user", content: "Weather in Paris?" }, message, { role: "tool", tool_call_id: "toolu_1", content: "18C" }],
  });
  assert.deepEqual(json.messages[1].content, [
    { type: "thinking", thinking: "Need the weather.", signature: "sig-1" },
    { type: "redacted_thinking", data: "enc-2" },
    { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
  ]);
  const unsigned = build({ messages: [{ role: "user", content: "x" }, { role: "assistant", content: "y", reasoning_details: [{ type: "reasoning.text", text: "no signature" }] }] });
  assert.deepEqual(unsigned.json.messages[1].content, [{ type: "text", text: "y" }], "unsigned reasoning can't be replayed");
});

test("errors: overloaded (529) is a retryable 503, Anthropic's error body is read in OpenAI's shape, an opening error event fails the attempt", () => {
  const mapped = adapter.mapError(529, JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }));
  assert.equal(mapped.status, 503);
  assert.deepEqual(JSON.parse(mapped.body), { error: { message: "Overloaded", type: "overloaded_error", code: "overloaded_error" } });
  assert.equal(adapter.mapError(400, "not json").body, "not json");
  assert.equal(adapter.openingEvent('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}').errorStatus, 503);
  assert.equal(adapter.openingEvent('{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}').errorStatus, 429);
  assert.deepEqual(adapter.openingEvent('{"type":"message_start","message":{"model":"claude-x"}}'), { errorStatus: null, model: "claude-x" });
  // A mid-stream error event reaches the client as an OpenAI error event.
  const t = new AnthropicStreamTranslator();
  const out = t.event({ event: "error", data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
  assert.deepEqual(JSON.parse(out[0]!), { error: { message: "Overloaded", type: "overloaded_error", code: 503 } });
  assert.deepEqual(t.end(), []);
});

test("embeddings and legacy completions are refused with a 400, not sent to an API that has none", () => {
  assert.throws(() => adapter.buildRequest(target, input({ input: "x" }, { endpoint: "embeddings" })), (e: any) => e.code === "invalid_request");
});
