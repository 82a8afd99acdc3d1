import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { and, eq } from "drizzle-orm";
import OpenAI from "openai";
import { ledgerEntries, requestLogs } from "../../src/db/schema/index.js";
import { ANTHROPIC_KEY, startAnthropicUpstream } from "../fakes/anthropic-upstream.js";
import { GEMINI_KEY, geminiResponse, startGeminiUpstream } from "../fakes/gemini-upstream.js";
import { sseFixture, type NativeUpstream } from "../fakes/native-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { assertOpenAI } from "../helpers/openai-schema.js";

// Anthropic-dialect and Responses-dialect clients in front of the native Anthropic and Gemini
// upstreams (their fakes answer with recorded transcripts): client dialect → chat → native and back.

/** USD per 1M → micros per 1M. */
const M = (usd: number) => BigInt(Math.round(usd * 1e6));
// The default tariff: 100 account units per USD, markup × 1.5.
const sale = (weight: bigint) => (weight * 150n + 999_999n) / 1_000_000n;
const CLAUDE = { input: 3, output: 15, cached_input: 0.3, cache_write: 3.75 };
const FLASH = { input: 0.3, output: 2.5, cached_input: 0.075 };

const requestIdOf = (answerId: string) => `req_${answerId.replace(/^(msg|resp)_/, "")}`;

describeEachDb("Anthropic and Responses clients on native Anthropic and Gemini upstreams", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let claude: NativeUpstream;
  let gemini: NativeUpstream;
  let anthropic: Anthropic;
  let openai: OpenAI;

  before(async () => {
    db = await createDb();
    claude = await startAnthropicUpstream();
    gemini = await startGeminiUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [
          { id: "claude", type: "anthropic", base_url: claude.baseUrl, api_key: ANTHROPIC_KEY },
          { id: "google", type: "gemini", base_url: gemini.baseUrl, api_key: GEMINI_KEY },
        ],
        models: [
          { id: "anthropic/claude-sonnet", routes: [{ provider: "claude", model: "claude-sonnet-4-5" }], price: CLAUDE, max_output: 8192 },
          { id: "google/gemini-flash", routes: [{ provider: "google", model: "gemini-2.5-flash" }], price: FLASH },
        ],
      },
      env: { TELEGRAM_MODE: "off", BILLING_CACHE_TTL_MS: "0", KEY_CACHE_TTL_MS: "0" },
    });
    const { key } = await gw.createAccountWithKey({ balance: "1000" });
    anthropic = new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
    openai = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await claude?.close();
    await gemini?.close();
    await db?.drop();
  });

  async function billed(requestId: string) {
    for (let i = 0; ; i++) {
      await gw.gateway.deps.logs.flush();
      const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, requestId));
      const [entry] = await db.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, requestId)));
      if (row && row.status !== "pending" && entry) {
        assert.equal(entry.amountMicros, -row.priceMicros!, "the ledger charges what the row prices");
        return row;
      }
      if (i === 100) assert.fail(`no final log row and charge for ${requestId}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test("Anthropic SDK on Anthropic: messages.create, billed at the upstream's usage", async () => {
    const msg = await anthropic.messages.create({ model: "anthropic/claude-sonnet", max_tokens: 1000, system: "Be kind.", messages: [{ role: "user", content: "Who are you?" }] });
    assert.deepEqual(msg.content, [{ type: "text", text: "Hi! My name is Claude." }]);
    assert.equal(msg.usage.input_tokens, 2095);
    assert.equal(msg.usage.output_tokens, 503);
    assert.equal(claude.requests.at(-1)!.body.system, "Be kind.");
    const row = await billed(requestIdOf(msg.id));
    assert.equal(row.endpoint, "messages");
    assert.equal(row.priceMicros, sale(2095n * M(3) + 503n * M(15)));
  });

  test("Anthropic SDK on Anthropic: messages.stream with cache_control; cache reads and writes reported and billed at their prices", async () => {
    const stream = anthropic.messages.stream({ model: "anthropic/claude-sonnet", max_tokens: 1000, messages: [{ role: "user", content: [{ type: "text", text: "Long cached context", cache_control: { type: "ephemeral" } }] }] });
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, [{ type: "text", text: "Hello from Claude!" }]);
    assert.deepEqual((claude.requests.at(-1)!.body as any).messages[0].content[0].cache_control, { type: "ephemeral" });
    assert.equal(final.usage.input_tokens, 21);
    assert.equal(final.usage.cache_read_input_tokens, 3000);
    assert.equal(final.usage.cache_creation_input_tokens, 1200);
    assert.equal(final.usage.output_tokens, 15);
    const row = await billed(requestIdOf(final.id));
    assert.equal(row.cachedTokens, 3000);
    assert.equal(row.priceMicros, sale(21n * M(3) + 3000n * M(0.3) + 1200n * M(3.75) + 15n * M(15)));
  });

  test("Anthropic SDK on Anthropic: a streamed tool use arrives as a tool_use block with its input", async () => {
    claude.script({ sse: sseFixture("anthropic/tool-use.txt") });
    const tools: Anthropic.Tool[] = [{ name: "get_weather", input_schema: { type: "object", properties: { location: { type: "string" } } } }];
    const final = await anthropic.messages.stream({ model: "anthropic/claude-sonnet", max_tokens: 500, tools, messages: [{ role: "user", content: "Weather in SF?" }] }).finalMessage();
    assert.equal(final.stop_reason, "tool_use");
    assert.deepEqual(final.content[0], { type: "text", text: "Let me check the weather." });
    const use = final.content[1]!;
    assert.ok(use.type === "tool_use");
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, { location: "San Francisco, CA" });
    assert.equal((claude.requests.at(-1)!.body as any).tools[0].name, "get_weather");
    // The result goes back as Anthropic's tool_result block.
    await anthropic.messages.create({
      model: "anthropic/claude-sonnet",
      max_tokens: 500,
      tools,
      messages: [
        { role: "user", content: "Weather in SF?" },
        { role: "assistant", content: final.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "Foggy" }] },
      ],
    });
    const sent = (claude.requests.at(-1)!.body as any).messages;
    assert.deepEqual(sent[1].content.at(-1), { type: "tool_use", id: use.id, name: "get_weather", input: { location: "San Francisco, CA" } });
    assert.deepEqual(sent[2].content[0], { type: "tool_result", tool_use_id: use.id, content: "Foggy" });
  });

  test("Anthropic SDK on Gemini: create, stream, a function call as tool_use, countTokens", async () => {
    const msg = await anthropic.messages.create({ model: "google/gemini-flash", max_tokens: 200, messages: [{ role: "user", content: "Hi" }] });
    assert.deepEqual(msg.content, [{ type: "text", text: "Hi! I am Gemini." }]);
    assert.equal(gemini.requests.at(-1)!.url, "/v1beta/models/gemini-2.5-flash:generateContent");
    const row = await billed(requestIdOf(msg.id));
    assert.equal(row.priceMicros, sale(8n * M(0.3) + 6n * M(2.5)));

    const final = await anthropic.messages.stream({ model: "google/gemini-flash", max_tokens: 500, messages: [{ role: "user", content: "Hi" }] }).finalMessage();
    assert.deepEqual(final.content, [{ type: "text", text: "Hello from Gemini!" }]);
    assert.equal(final.usage.cache_read_input_tokens, 4000);
    assert.equal(final.usage.input_tokens, 120);
    assert.equal(final.usage.output_tokens, 30);
    const srow = await billed(requestIdOf(final.id));
    assert.equal(srow.priceMicros, sale(120n * M(0.3) + 4000n * M(0.075) + 30n * M(2.5)));

    gemini.script({ json: geminiResponse({ candidates: [{ content: { role: "model", parts: [{ functionCall: { name: "lookup", args: { q: "cat" } } }] }, finishReason: "STOP", index: 0 }] }) });
    const call = await anthropic.messages.create({ model: "google/gemini-flash", max_tokens: 100, tools: [{ name: "lookup", input_schema: { type: "object", properties: { q: { type: "string" } } } }], tool_choice: { type: "any" }, messages: [{ role: "user", content: "Find" }] });
    assert.equal(call.stop_reason, "tool_use");
    assert.deepEqual((call.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock).input, { q: "cat" });
    assert.deepEqual((gemini.requests.at(-1)!.body as any).toolConfig, { functionCallingConfig: { mode: "ANY" } });

    const count = await anthropic.messages.countTokens({ model: "google/gemini-flash", messages: [{ role: "user", content: "Hi there" }] });
    assert.ok(count.input_tokens > 0);
  });

  for (const [name, model, plain, streamed] of [
    ["Anthropic", "anthropic/claude-sonnet", { text: "Hi! My name is Claude.", input: 2095, output: 503, price: sale(2095n * M(3) + 503n * M(15)) }, { text: "Hello from Claude!", input: 4221, cached: 3000, output: 15, price: sale(21n * M(3) + 3000n * M(0.3) + 1200n * M(3.75) + 15n * M(15)) }],
    ["Gemini", "google/gemini-flash", { text: "Hi! I am Gemini.", input: 8, output: 6, price: sale(8n * M(0.3) + 6n * M(2.5)) }, { text: "Hello from Gemini!", input: 4120, cached: 4000, output: 30, price: sale(120n * M(0.3) + 4000n * M(0.075) + 30n * M(2.5)) }],
  ] as const) {
    test(`openai SDK responses.create on ${name}: plain and stream, valid Responses shapes, billed at the reported usage`, async () => {
      const r = await openai.responses.create({ model, instructions: "Be brief.", input: "Hi", max_output_tokens: 1000 });
      assert.equal(r.output_text, plain.text);
      assert.equal(r.usage!.input_tokens, plain.input);
      assert.equal(r.usage!.output_tokens, plain.output);
      assertOpenAI("Response", JSON.parse(JSON.stringify({ ...r, output_text: undefined })));
      const row = await billed(requestIdOf(r.id));
      assert.equal(row.endpoint, "responses");
      assert.equal(row.priceMicros, plain.price);

      const stream = await openai.responses.create({ model, input: "Hi", max_output_tokens: 500, stream: true });
      let text = "";
      let done: OpenAI.Responses.Response | null = null;
      for await (const ev of stream) {
        assertOpenAI("ResponseStreamEvent", JSON.parse(JSON.stringify(ev)));
        if (ev.type === "response.output_text.delta") text += ev.delta;
        if (ev.type === "response.completed") done = ev.response;
      }
      assert.equal(text, streamed.text);
      assert.ok(done);
      assert.equal(done.usage!.input_tokens, streamed.input);
      assert.equal(done.usage!.input_tokens_details.cached_tokens, streamed.cached);
      assert.equal(done.usage!.output_tokens, streamed.output);
      const srow = await billed(requestIdOf(done.id));
      assert.equal(srow.stream, true);
      assert.equal(srow.priceMicros, streamed.price);
    });
  }
});
