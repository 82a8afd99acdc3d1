import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/core/errors.js";
import { anthropicMessages } from "../../src/proxy/dialects/anthropic-messages.js";
import { dialectContext, type ChatChunk } from "../../src/proxy/dialects/dialect.js";
import { openaiResponses } from "../../src/proxy/dialects/openai-responses.js";
import { assertOpenAI } from "../helpers/openai-schema.js";

const ctx = (body: Record<string, unknown>) => dialectContext("req_0123abcd", 1_700_000_000_000, body, () => 1_700_000_001_000);

/** `event:`/`data:` frames → [{event, data}]. */
function frames(sse: string): Array<{ event: string; data: Record<string, unknown> }> {
  return sse
    .split("\n\n")
    .filter(Boolean)
    .map((f) => {
      const event = /^event: (.+)$/m.exec(f)![1]!;
      const data = JSON.parse(/^data: (.+)$/m.exec(f)![1]!) as Record<string, unknown>;
      assert.equal(data.type, event, "the event name is the payload's type");
      return { event, data };
    });
}

const tokenUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, estimated: true };

/** A reasoning delta, text, two parallel tool calls (the second's arguments in two pieces), then usage. */
const CHUNKS: ChatChunk[] = [
  { choices: [{ index: 0, delta: { role: "assistant", reasoning: "Think." } }] },
  { choices: [{ index: 0, delta: { content: "Looking" } }] },
  { choices: [{ index: 0, delta: { content: " up." } }] },
  { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: '{"x":1}' } }] } }] },
  { choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "g", arguments: '{"y":' } }] } }] },
  { choices: [{ index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: "2}" } }] } }] },
  { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
  { choices: [], usage: { prompt_tokens: 100, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 } } },
];

test("Anthropic request → chat: system, images, tool use and results, tool choice, thinking, stop sequences", () => {
  const chat = anthropicMessages.toChat({
    model: "m",
    max_tokens: 50,
    system: "sys",
    thinking: { type: "enabled", budget_tokens: 1024 },
    tool_choice: { type: "any", disable_parallel_tool_use: true },
    tools: [{ name: "f", input_schema: { type: "object" } }],
    messages: [
      { role: "user", content: [{ type: "text", text: "see" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }, { type: "image", source: { type: "url", url: "https://x/y.png" } }] },
      { role: "assistant", content: [{ type: "thinking", thinking: "hm", signature: "s" }, { type: "text", text: "calling" }, { type: "tool_use", id: "t1", name: "f", input: { a: 1 } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "boom" }], is_error: true }, { type: "text", text: "and?" }] },
    ],
  });
  assert.deepEqual(chat.messages, [
    { role: "system", content: "sys" },
    { role: "user", content: [{ type: "text", text: "see" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }, { type: "image_url", image_url: { url: "https://x/y.png" } }] },
    {
      role: "assistant",
      content: "calling",
      tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
      reasoning_details: [{ type: "reasoning.text", text: "hm", signature: "s", format: "anthropic-claude-v1", index: 0 }],
    },
    { role: "tool", tool_call_id: "t1", content: "Error: boom" },
    { role: "user", content: "and?" },
  ]);
  assert.equal(chat.tool_choice, "required");
  assert.equal(chat.parallel_tool_calls, false);
  assert.deepEqual(chat.reasoning, { max_tokens: 1024 });
  assert.equal(chat.max_tokens, 50);
  assert.throws(() => anthropicMessages.toChat({ model: "m", max_tokens: 5, tools: [{ type: "web_search_20250305", name: "web_search" }], messages: [{ role: "user", content: "x" }] }), /server tool/);
  assert.throws(() => anthropicMessages.toChat({ model: "m", max_tokens: 5, messages: [{ role: "user", content: [{ type: "document", source: {} }] }] }), (e: unknown) => e instanceof AppError && e.status === 400);
});

test("Anthropic stream: blocks open and close in order, tool input as input_json_delta, usage apart from cache reads and writes", () => {
  const s = anthropicMessages.stream(ctx({ model: "claude-x" }));
  const out = frames(CHUNKS.map((c) => s.chunk(c)).join("") + s.end(tokenUsage));
  assert.deepEqual(
    out.map((f) => f.event + (f.data.index !== undefined ? `#${String(f.data.index)}` : "")),
    ["message_start", "ping", "content_block_start#0", "content_block_delta#0", "content_block_stop#0", "content_block_start#1", "content_block_delta#1", "content_block_delta#1", "content_block_stop#1", "content_block_start#2", "content_block_delta#2", "content_block_stop#2", "content_block_start#3", "content_block_delta#3", "content_block_delta#3", "content_block_stop#3", "message_delta", "message_stop"],
  );
  assert.deepEqual(out[2]!.data.content_block, { type: "thinking", thinking: "", signature: "" });
  assert.deepEqual(out[12]!.data.content_block, { type: "tool_use", id: "call_b", name: "g", input: {} });
  assert.deepEqual(out[14]!.data.delta, { type: "input_json_delta", partial_json: "2}" });
  const delta = out.at(-2)!.data;
  assert.deepEqual(delta.delta, { stop_reason: "tool_use", stop_sequence: null });
  assert.deepEqual(delta.usage, { input_tokens: 30, output_tokens: 20, cache_creation_input_tokens: 10, cache_read_input_tokens: 60 });
  const message = (out[0]!.data.message ?? {}) as Record<string, unknown>;
  assert.equal(message.id, "msg_0123abcd");
  assert.equal(message.model, "claude-x");
});

test("Anthropic stream without upstream usage closes with the local estimate; errors are Anthropic's error event", () => {
  const s = anthropicMessages.stream(ctx({ model: "m" }));
  const out = frames(s.chunk({ choices: [{ delta: { content: "hi" } }] }) + s.end({ promptTokens: 7, completionTokens: 2, totalTokens: 9, estimated: true }));
  assert.deepEqual(out.at(-2)!.data.usage, { input_tokens: 7, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  const [err] = frames(s.error(new AppError("insufficient_quota", "hold reached"), "req_1"));
  assert.deepEqual(err!.data, { type: "error", error: { type: "billing_error", message: "hold reached", code: "insufficient_quota" }, request_id: "req_1" });
  assert.deepEqual(anthropicMessages.errorBody!(new AppError("rate_limit_exceeded", "slow down"), "req_2"), { type: "error", error: { type: "rate_limit_error", message: "slow down", code: "rate_limit_exceeded" }, request_id: "req_2" });
});

test("Responses request → chat: instructions, developer role, images, parallel calls on one assistant message, outputs as tool messages", () => {
  const chat = openaiResponses.toChat({
    model: "m",
    instructions: "be nice",
    max_output_tokens: 99,
    text: { format: { type: "json_schema", name: "x", schema: { type: "object" }, strict: true } },
    reasoning: { effort: "low" },
    tools: [{ type: "function", name: "f", parameters: { type: "object" } }],
    tool_choice: { type: "function", name: "f" },
    input: [
      { role: "developer", content: "dev" },
      { type: "message", role: "user", content: [{ type: "input_text", text: "look" }, { type: "input_image", image_url: "https://x/y.png", detail: "low" }] },
      { type: "reasoning", id: "rs_1", summary: [] },
      { type: "function_call", call_id: "c1", name: "f", arguments: "{}" },
      { type: "function_call", call_id: "c2", name: "f", arguments: '{"a":1}' },
      { type: "function_call_output", call_id: "c1", output: "one" },
      { type: "function_call_output", call_id: "c2", output: "two" },
    ],
  });
  assert.deepEqual(chat.messages, [
    { role: "system", content: "be nice" },
    { role: "system", content: "dev" },
    { role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url: "https://x/y.png", detail: "low" } }] },
    { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }, { id: "c2", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
    { role: "tool", tool_call_id: "c1", content: "one" },
    { role: "tool", tool_call_id: "c2", content: "two" },
  ]);
  assert.equal(chat.max_tokens, 99);
  assert.deepEqual(chat.response_format, { type: "json_schema", json_schema: { name: "x", schema: { type: "object" }, strict: true } });
  assert.equal(chat.reasoning_effort, "low");
  assert.deepEqual(chat.tool_choice, { type: "function", function: { name: "f" } });
  assert.throws(
    () => openaiResponses.toChat({ model: "m", input: "x", tools: [{ type: "web_search" }] }),
    (e: unknown) => e instanceof AppError && e.code === "unsupported_parameter" && e.extra.param === "tools[0].type",
  );
});

test("Responses stream with text and parallel function calls: every event valid against OpenAI's schema, in order", () => {
  const body = { model: "gpt-x", input: "hi", tools: [{ type: "function", name: "f", parameters: { type: "object" } }] };
  const s = openaiResponses.stream(ctx(body));
  const out = frames(CHUNKS.map((c) => s.chunk(c)).join("") + s.end(tokenUsage));
  for (const f of out) assertOpenAI("ResponseStreamEvent", f.data);
  assert.deepEqual(out.map((f) => f.data.sequence_number), out.map((_, i) => i));
  assert.deepEqual(
    out.map((f) => f.event),
    [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ],
  );
  const done = out.at(-1)!.data.response as { output: Array<Record<string, unknown>>; usage: Record<string, unknown> };
  assert.deepEqual(done.output.map((o) => [o.type, o.output_index ?? null, o.call_id ?? null, o.arguments ?? null]), [
    ["message", null, null, null],
    ["function_call", null, "call_a", '{"x":1}'],
    ["function_call", null, "call_b", '{"y":2}'],
  ]);
  assert.deepEqual(done.usage, { input_tokens: 100, input_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 120 });
  const [err] = frames(s.error(new AppError("upstream_error", "gone"), "req_1"));
  assertOpenAI("ResponseErrorEvent", err!.data);
});

test("Responses answer: an output cut by the cap is `incomplete` with max_output_tokens, valid against the schema", () => {
  const r = openaiResponses.response(
    { choices: [{ index: 0, message: { role: "assistant", content: "partial" }, finish_reason: "length" }], usage: { prompt_tokens: 3, completion_tokens: 4 } },
    ctx({ model: "gpt-x", input: "hi", max_output_tokens: 4 }),
  );
  assert.equal(r.status, "incomplete");
  assert.deepEqual(r.incomplete_details, { reason: "max_output_tokens" });
  assertOpenAI("Response", r);
});

test("Anthropic signed thinking round-trips: earlier turns' thinking → reasoning_details, reasoning_details back → thinking blocks with their signature", () => {
  const chat = anthropicMessages.toChat({
    model: "claude",
    max_tokens: 100,
    messages: [
      { role: "user", content: "Weather?" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "Use the tool.", signature: "sig-a" },
          { type: "redacted_thinking", data: "enc-b" },
          { type: "thinking", thinking: "unsigned" },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18C" }] },
    ],
  }) as { messages: Array<Record<string, unknown>> };
  assert.deepEqual(chat.messages[1]!.reasoning_details, [
    { type: "reasoning.text", text: "Use the tool.", signature: "sig-a", format: "anthropic-claude-v1", index: 0 },
    { type: "reasoning.encrypted", data: "enc-b", format: "anthropic-claude-v1", index: 1 },
  ]);

  const answer = anthropicMessages.response(
    {
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Sunny.", reasoning: "Think.", reasoning_details: [{ type: "reasoning.text", text: "Think.", signature: "sig-c", format: "anthropic-claude-v1", index: 0 }] },
          finish_reason: "stop",
        },
      ],
    },
    ctx({ model: "claude" }),
  ) as { content: unknown[] };
  assert.deepEqual(answer.content, [
    { type: "thinking", thinking: "Think.", signature: "sig-c" },
    { type: "text", text: "Sunny." },
  ]);

  const s = anthropicMessages.stream(ctx({ model: "claude", stream: true }));
  let sse = s.chunk({ choices: [{ index: 0, delta: { role: "assistant", reasoning: "Think.", reasoning_details: [{ type: "reasoning.text", text: "Think.", index: 0 }] } }] });
  sse += s.chunk({ choices: [{ index: 0, delta: { reasoning_details: [{ type: "reasoning.text", text: "", signature: "sig-d", index: 0 }] } }] });
  sse += s.chunk({ choices: [{ index: 0, delta: { content: "Sunny." }, finish_reason: "stop" }] });
  sse += s.end(tokenUsage);
  const deltas = frames(sse)
    .filter((f) => f.event === "content_block_delta")
    .map((f) => f.data.delta as Record<string, unknown>);
  assert.deepEqual(deltas, [
    { type: "thinking_delta", thinking: "Think." },
    { type: "signature_delta", signature: "sig-d" },
    { type: "text_delta", text: "Sunny." },
  ]);
});
