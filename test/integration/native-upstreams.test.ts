import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { requestLogs } from "../../src/db/schema/index.js";
import { ANTHROPIC_KEY, anthropicMessage, startAnthropicUpstream } from "../fakes/anthropic-upstream.js";
import { GEMINI_KEY, geminiResponse, startGeminiUpstream } from "../fakes/gemini-upstream.js";
import { sseFixture, type NativeUpstream } from "../fakes/native-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/** USD per 1M → micros per 1M. */
const M = (usd: number) => BigInt(Math.round(usd * 1e6));
// The default tariff: 100 account units per USD, markup × 1.5 → price = ceil(Σ tokens × micros-per-1M × 150 / 1e6).
const sale = (weight: bigint) => (weight * 150n + 999_999n) / 1_000_000n;

const CLAUDE = { input: 3, output: 15, cached_input: 0.3, cache_write: 3.75 };
const FLASH = { input: 0.3, output: 2.5, cached_input: 0.075 };

describeEachDb("native Anthropic and Gemini upstreams through /v1/chat/completions", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let claude: NativeUpstream;
  let gemini: NativeUpstream;
  let key: string;

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
    key = (await gw.createAccountWithKey({ balance: "1000" })).key;
  });
  after(async () => {
    await gw?.stop();
    await claude?.close();
    await gemini?.close();
    await db?.drop();
  });

  /** The request's final log row (a stream is settled after its last byte went out: wait for it). */
  const logRow = async (requestId: string | null) => {
    assert.ok(requestId, "x-request-id");
    for (let i = 0; ; i++) {
      await gw.gateway.deps.logs.flush();
      const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, requestId));
      if (row && row.status !== "pending") return row;
      if (i === 100) assert.fail(`no final log row for ${requestId}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test("Anthropic, non-stream: a Messages answer comes back as a chat completion, billed at the reported usage", async () => {
    const openai = gw.openai(key);
    const { data, response } = await openai.chat.completions
      .create({ model: "anthropic/claude-sonnet", max_tokens: 1000, messages: [{ role: "system", content: "Be kind." }, { role: "user", content: "Who are you?" }], frequency_penalty: 0.5 })
      .withResponse();
    assert.equal(data.choices[0]!.message.content, "Hi! My name is Claude.");
    assert.equal(data.choices[0]!.finish_reason, "stop");
    assert.equal(data.usage?.prompt_tokens, 2095);
    assert.equal(data.usage?.completion_tokens, 503);
    const sent = claude.requests.at(-1)!.body;
    assert.equal(sent.system, "Be kind.");
    assert.equal(sent.model, "claude-sonnet-4-5");
    assert.equal(sent.max_tokens, 1000);
    const row = await logRow(response.headers.get("x-request-id"));
    assert.equal(row.status, "completed");
    assert.equal(row.promptTokens, 2095);
    assert.equal(row.completionTokens, 503);
    assert.equal(row.priceMicros, sale(2095n * M(3) + 503n * M(15)));
    assert.equal(data.usage && (data.usage as any).cost, Number(row.priceMicros) / 1e6);
  });

  test("Anthropic, stream: text deltas, the final usage chunk, cache reads and writes billed at their prices", async () => {
    const openai = gw.openai(key);
    const { data: stream, response } = await openai.chat.completions
      .create({ model: "anthropic/claude-sonnet", max_tokens: 1000, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: [{ type: "text", text: "Long cached context", cache_control: { type: "ephemeral" } } as any] }] })
      .withResponse();
    let text = "";
    let usage: any = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, "Hello from Claude!");
    assert.equal(usage.prompt_tokens, 4221);
    assert.equal(usage.prompt_tokens_details.cached_tokens, 3000);
    assert.equal(usage.prompt_tokens_details.cache_write_tokens, 1200);
    assert.equal(usage.completion_tokens, 15);
    const sent = claude.requests.at(-1)!.body as any;
    assert.equal(sent.stream, true);
    assert.deepEqual(sent.messages[0].content[0].cache_control, { type: "ephemeral" });
    const row = await logRow(response.headers.get("x-request-id"));
    assert.equal(row.cachedTokens, 3000);
    assert.equal((row.meta as any)?.cache_write_tokens, 1200);
    // 21 plain + 3000 read + 1200 written in, 15 out.
    const expected = sale(21n * M(3) + 3000n * M(0.3) + 1200n * M(3.75) + 15n * M(15));
    assert.equal(row.priceMicros, expected);
    assert.equal(usage.cost, Number(expected) / 1e6);
  });

  test("Anthropic, stream: tool use is assembled by the openai SDK into a tool call", async () => {
    claude.script({ sse: sseFixture("anthropic/tool-use.txt") });
    const openai = gw.openai(key);
    const stream = openai.chat.completions.stream({
      model: "anthropic/claude-sonnet",
      max_tokens: 500,
      messages: [{ role: "user", content: "Weather in SF?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { location: { type: "string" } } } } }],
      tool_choice: "auto",
    });
    const done = await stream.finalChatCompletion();
    const msg = done.choices[0]!.message;
    assert.equal(done.choices[0]!.finish_reason, "tool_calls");
    assert.equal(msg.content, "Let me check the weather.");
    assert.equal(msg.tool_calls?.[0]?.function.name, "get_weather");
    assert.deepEqual(JSON.parse(msg.tool_calls![0]!.function.arguments), { location: "San Francisco, CA" });
    const sent = claude.requests.at(-1)!.body as any;
    assert.deepEqual(sent.tool_choice, { type: "auto" });
    assert.equal(sent.tools[0].name, "get_weather");
  });

  test("Anthropic: an image and a tool result round trip as Anthropic blocks; tool_use answers come back as tool_calls", async () => {
    claude.script({ json: anthropicMessage({ content: [{ type: "tool_use", id: "toolu_7", name: "zoom", input: { factor: 2 } }], stop_reason: "tool_use", usage: { input_tokens: 50, output_tokens: 10 } }) });
    const openai = gw.openai(key);
    const r = await openai.chat.completions.create({
      model: "anthropic/claude-sonnet",
      max_tokens: 100,
      messages: [
        { role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "toolu_6", type: "function", function: { name: "zoom", arguments: '{"factor":1}' } }] },
        { role: "tool", tool_call_id: "toolu_6", content: "zoomed" },
      ],
      tools: [{ type: "function", function: { name: "zoom", parameters: { type: "object", properties: { factor: { type: "number" } } } } }],
    });
    assert.equal(r.choices[0]!.finish_reason, "tool_calls");
    assert.deepEqual(JSON.parse((r.choices[0]!.message.tool_calls![0] as { function: { arguments: string } }).function.arguments), { factor: 2 });
    const sent = claude.requests.at(-1)!.body as any;
    assert.deepEqual(sent.messages[0].content[1], { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } });
    assert.deepEqual(sent.messages[1].content[0], { type: "tool_use", id: "toolu_6", name: "zoom", input: { factor: 1 } });
    assert.deepEqual(sent.messages[2].content[0], { type: "tool_result", tool_use_id: "toolu_6", content: "zoomed" });
  });

  test("Anthropic: an overloaded upstream (529) is an upstream failure for the client, never a 4xx, and nothing is billed", async () => {
    const overloaded = { status: 529, error: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } };
    claude.script(overloaded, overloaded, overloaded, overloaded);
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "anthropic/claude-sonnet", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
    });
    assert.ok(r.status >= 500, `status ${r.status}`);
    const row = await logRow(r.headers.get("x-request-id"));
    assert.equal(row.status, "failed");
    assert.equal(row.priceMicros ?? 0n, 0n);
  });

  test("Gemini, non-stream: generateContent answer as a chat completion, billed at usageMetadata", async () => {
    const openai = gw.openai(key);
    const { data, response } = await openai.chat.completions
      .create({ model: "google/gemini-flash", max_tokens: 200, temperature: 0.1, messages: [{ role: "system", content: "Short." }, { role: "user", content: "Hi" }], user: "u1" })
      .withResponse();
    assert.equal(data.choices[0]!.message.content, "Hi! I am Gemini.");
    const sent = gemini.requests.at(-1)!;
    assert.equal(sent.url, "/v1beta/models/gemini-2.5-flash:generateContent");
    assert.deepEqual((sent.body as any).systemInstruction, { parts: [{ text: "Short." }] });
    assert.deepEqual((sent.body as any).generationConfig, { maxOutputTokens: 200, temperature: 0.1 });
    const row = await logRow(response.headers.get("x-request-id"));
    assert.equal(row.promptTokens, 8);
    assert.equal(row.completionTokens, 6);
    assert.equal(row.priceMicros, sale(8n * M(0.3) + 6n * M(2.5)));
  });

  test("Gemini, stream: chunks of whole responses become deltas; cached prompt tokens and thoughts billed as reported", async () => {
    const openai = gw.openai(key);
    const { data: stream, response } = await openai.chat.completions
      .create({ model: "google/gemini-flash", max_tokens: 500, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Hi" }] })
      .withResponse();
    let text = "";
    let usage: any = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, "Hello from Gemini!");
    assert.equal(gemini.requests.at(-1)!.url, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    assert.equal(usage.prompt_tokens, 4120);
    assert.equal(usage.completion_tokens, 30);
    const row = await logRow(response.headers.get("x-request-id"));
    assert.equal(row.cachedTokens, 4000);
    assert.equal(row.reasoningTokens, 24);
    const expected = sale(120n * M(0.3) + 4000n * M(0.075) + 30n * M(2.5));
    assert.equal(row.priceMicros, expected);
    assert.equal(usage.cost, Number(expected) / 1e6);
  });

  test("Gemini: images go as inlineData, function calls come back as tool calls, tool results as functionResponse", async () => {
    gemini.script({ json: geminiResponse({ candidates: [{ content: { role: "model", parts: [{ functionCall: { name: "lookup", args: { q: "cat" } } }] }, finishReason: "STOP", index: 0 }] }) });
    const openai = gw.openai(key);
    const r = await openai.chat.completions.create({
      model: "google/gemini-flash",
      max_tokens: 100,
      messages: [
        { role: "user", content: [{ type: "text", text: "Find it" }, { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "call_a", type: "function", function: { name: "lookup", arguments: '{"q":"dog"}' } }] },
        { role: "tool", tool_call_id: "call_a", content: '{"found":false}' },
      ],
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } }],
      tool_choice: "required",
    });
    assert.equal(r.choices[0]!.finish_reason, "tool_calls");
    assert.deepEqual(JSON.parse((r.choices[0]!.message.tool_calls![0] as { function: { arguments: string } }).function.arguments), { q: "cat" });
    const sent = gemini.requests.at(-1)!.body as any;
    assert.deepEqual(sent.contents[0].parts[1], { inlineData: { mimeType: "image/jpeg", data: "/9j/4AAQ" } });
    assert.deepEqual(sent.contents[2].parts[0], { functionResponse: { name: "lookup", response: { found: false } } });
    assert.deepEqual(sent.toolConfig, { functionCallingConfig: { mode: "ANY" } });
  });
});
