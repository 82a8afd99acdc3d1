import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { and, eq } from "drizzle-orm";
import OpenAI from "openai";
import { ledgerEntries, requestLogs } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { assertOpenAI } from "../helpers/openai-schema.js";

// $1/M in, $2/M out × 100 RUB × 1.5 markup = 150 and 300 micro-RUB per token.
const PRICE_IN = 150n;
const PRICE_OUT = 300n;
const config = (mockBaseUrl: string) => ({
  providers: [{ id: "mock", type: "openai", base_url: mockBaseUrl }],
  models: [{ id: "t/chat", aliases: ["claude-test"], routes: [{ provider: "mock", model: "gpt-4o-mini" }], price: { input: 1, output: 2 }, max_output: 4096 }],
});
const ENV = { RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0", USD_RATE: "100", DEFAULT_MARKUP: "1.5", BILLING_CURRENCY: "RUB", BILLING_CACHE_TTL_MS: "0" };

async function until<T>(f: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The request's final log row and its ledger charge. */
async function billed(gw: TestGateway, requestId: string) {
  const db = gw.gateway.deps.db;
  await gw.gateway.deps.logs.flush();
  const row = await until(async () => {
    await gw.gateway.deps.logs.flush();
    const [r] = await db.select().from(requestLogs).where(eq(requestLogs.id, requestId));
    return r && r.status !== "pending" ? r : null;
  });
  const entry = await until(async () => (await db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, requestId))))[0]);
  return { row, entry };
}

/** The gateway's request id behind an answer id (`msg_<hex>`, `resp_<hex>`). */
const requestIdOf = (answerId: string) => `req_${answerId.replace(/^(msg|resp)_/, "")}`;

async function assertBilled(gw: TestGateway, requestId: string, endpoint: string, usage: { input: number; output: number }, stream: boolean) {
  const { row, entry } = await billed(gw, requestId);
  assert.equal(row.status, "completed");
  assert.equal(row.endpoint, endpoint);
  assert.equal(row.stream, stream);
  assert.equal(row.estimated, false);
  assert.equal(row.promptTokens, usage.input);
  assert.equal(row.completionTokens, usage.output);
  const price = BigInt(usage.input) * PRICE_IN + BigInt(usage.output) * PRICE_OUT;
  assert.equal(row.priceMicros, price, "the row prices the usage the client was told");
  assert.equal(entry.amountMicros, -price, "the ledger charges the same");
}

describeEachDb("Anthropic Messages and OpenAI Responses clients on an OpenAI-compatible upstream", (_kind, createDb) => {
  let db: TestDatabase;
  let mock: OpenAIUpstream;
  let gw: TestGateway;
  let key: string;
  let anthropic: Anthropic;
  let openai: OpenAI;

  before(async () => {
    db = await createDb();
    mock = await startOpenAIUpstream();
    gw = await startTestGateway({ database: db, config: config(mock.baseUrl), env: ENV });
    ({ key } = await gw.createAccountWithKey({ balance: "1000.00" }));
    anthropic = new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
    openai = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await db?.drop();
  });

  test("messages.create: Anthropic's message, x-api-key accepted, billed with the upstream's usage", async () => {
    mock.configure({ usage: { prompt_tokens: 21, completion_tokens: 7 }, times: 1 });
    const msg = await anthropic.messages.create({
      model: "claude-test",
      max_tokens: 200,
      system: [{ type: "text", text: "You are terse.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }],
      stop_sequences: ["END"],
      metadata: { user_id: "u-1" },
    });
    assert.equal(msg.type, "message");
    assert.equal(msg.role, "assistant");
    assert.equal(msg.model, "claude-test");
    assert.equal(msg.stop_reason, "end_turn");
    assert.deepEqual(msg.content, [{ type: "text", text: "Hello from the mock upstream" }]);
    assert.equal(msg.usage.input_tokens, 21);
    assert.equal(msg.usage.output_tokens, 7);
    const sent = mock.stats.lastBody as Record<string, unknown>;
    assert.equal(mock.stats.lastHeaders["x-api-key"], undefined, "the client's key stays at the gateway");
    assert.deepEqual((sent.messages as unknown[])[0], { role: "system", content: [{ type: "text", text: "You are terse.", cache_control: { type: "ephemeral" } }] });
    assert.deepEqual(sent.stop, ["END"]);
    assert.equal(sent.max_tokens, 200);
    assert.equal(sent.user, "u-1");
    await assertBilled(gw, requestIdOf(msg.id), "messages", { input: 21, output: 7 }, false);
  });

  test("messages.stream: Anthropic's SSE events in order, final usage, billed like chat", async () => {
    mock.configure({ usage: { prompt_tokens: 9, completion_tokens: 5 }, times: 1 });
    const stream = anthropic.messages.stream({ model: "claude-test", max_tokens: 100, messages: [{ role: "user", content: "Stream please" }] });
    const types: string[] = [];
    let text = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
    }
    const final = await stream.finalMessage();
    assert.equal(text, "Hello from the mock upstream");
    assert.equal(types[0], "message_start");
    assert.equal(types.at(-1), "message_stop");
    assert.deepEqual([...new Set(types)], ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    assert.equal(final.stop_reason, "end_turn");
    assert.equal(final.usage.output_tokens, 5);
    assert.equal(final.content[0]!.type, "text");
    await assertBilled(gw, requestIdOf(final.id), "messages", { input: 9, output: 5 }, true);
  });

  test("an upstream cut mid-stream ends with Anthropic's error event; what was delivered is billed", async () => {
    mock.configure({ chunks: 8, cut_after: 3, interval_ms: 30, times: 1 });
    const stream = anthropic.messages.stream({ model: "claude-test", max_tokens: 100, messages: [{ role: "user", content: "Stream please" }] });
    let text = "";
    let id = "";
    await assert.rejects(
      (async () => {
        for await (const ev of stream) {
          if (ev.type === "message_start") id = ev.message.id;
          if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
        }
      })(),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.APIError, String(e));
        assert.match(String((e as Error).message), /upstream|mid-stream/i);
        return true;
      },
    );
    // Up to the 3 words sent before the cut (the last may die with the connection).
    assert.ok(text.length > 0 && "Hello from the".startsWith(text), text);
    const { row, entry } = await billed(gw, requestIdOf(id));
    assert.equal(row.status, "failed");
    assert.equal(row.endpoint, "messages");
    assert.ok(row.completionTokens! >= text.split(" ").length - 1 && row.completionTokens! > 0, `billed ${row.completionTokens} for '${text}'`);
    assert.equal(entry.amountMicros, -row.priceMicros!);
  });

  test("tool use round trip: tool_use block out, tool_result back in as a tool message, text answer", async () => {
    const tools: Anthropic.Tool[] = [{ name: "get_weather", description: "Weather of a city", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    const first = await anthropic.messages.create({ model: "claude-test", max_tokens: 100, tools, tool_choice: { type: "auto" }, messages: [{ role: "user", content: "Weather in Paris?" }] });
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    assert.ok(use && use.type === "tool_use");
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, { city: "mock" });
    const sentTools = (mock.stats.lastBody as { tools: unknown }).tools;
    assert.deepEqual(sentTools, [{ type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: tools[0]!.input_schema } }]);
    const second = await anthropic.messages.create({
      model: "claude-test",
      max_tokens: 100,
      tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "Sunny, 21 °C" }] },
      ],
    });
    assert.equal(second.stop_reason, "end_turn");
    assert.equal(second.content[0]!.type, "text");
    const msgs = (mock.stats.lastBody as { messages: Array<Record<string, unknown>> }).messages;
    assert.deepEqual(msgs.slice(1), [
      { role: "assistant", content: null, tool_calls: [{ id: use.id, type: "function", function: { name: "get_weather", arguments: JSON.stringify({ city: "mock" }) } }] },
      { role: "tool", tool_call_id: use.id, content: "Sunny, 21 °C" },
    ]);
    const { row } = await billed(gw, requestIdOf(second.id));
    assert.equal(row.endpoint, "messages");
  });

  test("countTokens: a local count, nothing billed or logged", async () => {
    const before = await db.db.select().from(ledgerEntries);
    const small = await anthropic.messages.countTokens({ model: "claude-test", messages: [{ role: "user", content: "Hello" }] });
    const large = await anthropic.messages.countTokens({ model: "claude-test", system: "You are a helpful assistant.", messages: [{ role: "user", content: "Hello there, how are you doing today?" }] });
    assert.ok(small.input_tokens > 0);
    assert.ok(large.input_tokens > small.input_tokens + 8, `${large.input_tokens} vs ${small.input_tokens}`);
    assert.equal((await db.db.select().from(ledgerEntries)).length, before.length);
    await assert.rejects(anthropic.messages.countTokens({ model: "claude-test", messages: [] }), (e: unknown) => e instanceof Anthropic.BadRequestError);
  });

  test("errors in Anthropic's shape with the right statuses; Bearer (Claude Code's auth token) works too", async () => {
    const bad = new Anthropic({ apiKey: "sk-gw-not-a-real-key-000000000000", baseURL: gw.url, maxRetries: 0 });
    await assert.rejects(bad.messages.create({ model: "claude-test", max_tokens: 10, messages: [{ role: "user", content: "x" }] }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.AuthenticationError, String(e));
      assert.equal((e.error as { type: string; error: { type: string } }).error.type, "authentication_error");
      return true;
    });
    const r = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-test", messages: [{ role: "user", content: "x" }] }),
    });
    assert.equal(r.status, 400);
    const body = (await r.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, "error");
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /max_tokens/);
    // A model the upstream does not know: its 404 reaches the client as Anthropic's not_found_error.
    mock.refuseModels("nonexistent-model");
    await assert.rejects(anthropic.messages.create({ model: "nonexistent-model", max_tokens: 10, messages: [{ role: "user", content: "x" }] }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.APIError, String(e));
      assert.equal((e.error as { type: string }).type, "error");
      return true;
    });
    const viaBearer = new Anthropic({ authToken: key, apiKey: null, baseURL: gw.url, maxRetries: 0 });
    const ok = await viaBearer.messages.create({ model: "claude-test", max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    assert.equal(ok.type, "message");
  });

  test("responses.create: a Response valid against OpenAI's schema, billed and logged as responses", async () => {
    mock.configure({ usage: { prompt_tokens: 13, completion_tokens: 6, cached_tokens: 4, reasoning_tokens: 0 }, times: 1 });
    const { data: r, response } = await openai.responses.create({ model: "t/chat", instructions: "Be brief.", input: "Say hello", max_output_tokens: 300 }).withResponse();
    assert.equal(r.object, "response");
    assert.equal(r.status, "completed");
    assert.equal(r.output_text, "Hello from the mock upstream");
    assert.equal(r.usage!.input_tokens, 13);
    assert.equal(r.usage!.output_tokens, 6);
    assert.equal(r.usage!.input_tokens_details.cached_tokens, 4);
    assert.equal((r as unknown as { store: boolean }).store, false);
    const raw = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
    delete raw.output_text; // the SDK's own convenience field
    assertOpenAI("Response", raw);
    const sent = mock.stats.lastBody as Record<string, unknown>;
    assert.deepEqual(sent.messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Say hello" },
    ]);
    assert.equal(sent.max_tokens, 300);
    const requestId = response.headers.get("x-request-id")!;
    assert.equal(requestIdOf(r.id), requestId);
    await assertBilled(gw, requestId, "responses", { input: 13, output: 6 }, false);
  });

  test("responses.create stream: every event valid against OpenAI's ResponseStreamEvent, completed with usage", async () => {
    mock.configure({ usage: { prompt_tokens: 8, completion_tokens: 5 }, times: 1 });
    const stream = await openai.responses.create({ model: "t/chat", input: [{ role: "user", content: [{ type: "input_text", text: "Stream it" }] }], stream: true });
    const types: string[] = [];
    let text = "";
    let completed: OpenAI.Responses.Response | null = null;
    let seq = -1;
    for await (const ev of stream) {
      assertOpenAI("ResponseStreamEvent", JSON.parse(JSON.stringify(ev)));
      assert.equal(ev.sequence_number, seq + 1);
      seq = ev.sequence_number;
      types.push(ev.type);
      if (ev.type === "response.output_text.delta") text += ev.delta;
      if (ev.type === "response.completed") completed = ev.response;
    }
    assert.equal(text, "Hello from the mock upstream");
    assert.deepEqual([...new Set(types)], [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.ok(completed);
    assert.equal(completed.usage!.input_tokens, 8);
    assert.equal(completed.usage!.output_tokens, 5);
    assert.equal(completed.output.length, 1);
    await assertBilled(gw, requestIdOf(completed.id), "responses", { input: 8, output: 5 }, true);
  });

  test("responses function call round trip: function_call item out, function_call_output back in", async () => {
    const tools: OpenAI.Responses.Tool[] = [{ type: "function", name: "lookup", description: "Look up", parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] }, strict: false }];
    const first = await openai.responses.create({ model: "t/chat", input: "Find it", tools });
    const call = first.output.find((o) => o.type === "function_call");
    assert.ok(call && call.type === "function_call");
    assert.equal(call.name, "lookup");
    assert.equal(call.arguments, JSON.stringify({ q: "mock" }));
    assertOpenAI("Response", JSON.parse(JSON.stringify({ ...first, output_text: undefined })));
    const second = await openai.responses.create({ model: "t/chat", tools, input: [{ role: "user", content: "Find it" }, call, { type: "function_call_output", call_id: call.call_id, output: "found: 42" }] });
    assert.equal(second.output_text, "Hello from the mock upstream");
    const msgs = (mock.stats.lastBody as { messages: Array<Record<string, unknown>> }).messages;
    assert.deepEqual(msgs.slice(1), [
      { role: "assistant", content: null, tool_calls: [{ id: call.call_id, type: "function", function: { name: "lookup", arguments: call.arguments } }] },
      { role: "tool", tool_call_id: call.call_id, content: "found: 42" },
    ]);
  });

  test("state that is not kept is refused by name: previous_response_id, store, item_reference", async () => {
    for (const extra of [{ previous_response_id: "resp_abc" }, { store: true }, { input: [{ type: "item_reference", id: "msg_1" }] }]) {
      await assert.rejects(openai.responses.create({ model: "t/chat", input: "hi", ...extra } as never), (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError, String(e));
        assert.equal((e.error as { code?: string }).code, "unsupported_parameter");
        assert.match(e.message, /keeps no responses/);
        return true;
      });
    }
  });

  test("the OpenRouter-compatible proxy's responses path takes the same billed translation", async () => {
    mock.configure({ usage: { prompt_tokens: 4, completion_tokens: 6 }, times: 1 });
    const r = await fetch(`${gw.url}/api/v1/openrouter/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "t/chat", input: "hi" }),
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { id: string; object: string };
    assert.equal(body.object, "response");
    assert.equal(mock.stats.byPath["/v1/responses"], undefined, "nothing forwarded blind");
    await assertBilled(gw, requestIdOf(body.id), "responses", { input: 4, output: 6 }, false);
  });
});
