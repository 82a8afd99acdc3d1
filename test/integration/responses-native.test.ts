import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import OpenAI from "openai";
import { ledgerEntries, requestLogs } from "../../src/db/schema/index.js";
import { countTokens } from "../../src/proxy/o200k-count.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { assertOpenAI } from "../helpers/openai-schema.js";

// POST /v1/responses on an upstream that serves the Responses API itself (the OpenAI fake, which
// answers from recorded transcripts): the client's request goes to the upstream's /v1/responses
// (not chat), its answer and events come back unchanged, and the request is billed and logged like
// chat (endpoint `responses`) from the Responses usage. A second fake serves the translated route.

/** USD per 1M → micros per 1M. */
const M = (usd: number) => BigInt(Math.round(usd * 1e6));
// The default tariff: 100 account units per USD, markup × 1.5.
const sale = (weight: bigint) => (weight * 150n + 999_999n) / 1_000_000n;
const PRICE = { input: 2.5, output: 10, cached_input: 1.25 };
const priceOf = (input: number, cached: number, output: number) => sale(BigInt(input - cached) * M(PRICE.input) + BigInt(cached) * M(PRICE.cached_input) + BigInt(output) * M(PRICE.output));
const USAGE = { prompt_tokens: 1200, completion_tokens: 300, cached_tokens: 1000, reasoning_tokens: 200 };

const eventsOf = (sse: string) =>
  sse
    .split("\n\n")
    .filter((f) => f.trim())
    .map((f) => ({ event: /^event: (.*)$/m.exec(f)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(f)![1]!) as Record<string, unknown> }));

describeEachDb("OpenAI Responses passed natively to an upstream that serves it", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let openai: OpenAIUpstream;
  let chat: OpenAIUpstream;
  let client: OpenAI;
  let key: string;

  before(async () => {
    db = await createDb();
    openai = await startOpenAIUpstream();
    chat = await startOpenAIUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [
          // Not api.openai.com, so the config says it serves the Responses API.
          { id: "oai", type: "openai", base_url: openai.baseUrl, api_key: "sk-upstream-oai", responses_api: "native" },
          { id: "chat", type: "openai", base_url: chat.baseUrl, responses_api: "translate" },
        ],
        models: [
          { id: "openai/gpt-4o", routes: [{ provider: "oai", model: "gpt-4o" }], price: PRICE },
          { id: "openai/gpt-4o-capped", routes: [{ provider: "oai", model: "gpt-4o" }], price: PRICE, max_output: 1000 },
          { id: "openai/chat-only", routes: [{ provider: "chat", model: "gpt-4o-mini" }], price: PRICE },
          { id: "openai/gpt-4o-fb", routes: [{ provider: "oai", model: "gpt-4o", priority: 1 }, { provider: "chat", model: "gpt-4o-mini", priority: 2 }], price: PRICE },
        ],
      },
      env: { TELEGRAM_MODE: "off", BILLING_CACHE_TTL_MS: "0", KEY_CACHE_TTL_MS: "0", RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0" },
    });
    ({ key } = await gw.createAccountWithKey({ balance: "1000" }));
    client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await openai?.close();
    await chat?.close();
    await db?.drop();
  });

  const seen = () => openai.stats.lastBody as Record<string, unknown>;
  const post = (body: Record<string, unknown>, apiKey = key) =>
    fetch(`${gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }, body: JSON.stringify(body) });

  /** The final log row and its one usage charge (which must price what the row says). */
  async function billed(requestId: string) {
    for (let i = 0; ; i++) {
      await gw.gateway.deps.logs.flush();
      const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, requestId));
      const entries = await db.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, requestId)));
      if (row && row.status !== "pending" && entries.length) {
        assert.equal(entries.length, 1, "charged once");
        assert.equal(entries[0]!.amountMicros, -row.priceMicros!, "the ledger charges what the row prices");
        return row;
      }
      if (i === 100) assert.fail(`no final log row and charge for ${requestId}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test("responses.create: sent to /v1/responses with the API's fields only (model renamed, store false); the upstream's answer; billed from its usage incl. cached tokens", async () => {
    openai.configure({ usage: USAGE, times: 1 });
    const chatCalls = openai.stats.byPath["/v1/chat/completions"] ?? 0;
    const { data, response } = await client.responses
      .create({ model: "openai/gpt-4o", input: "Say hello", instructions: "Be brief.", max_output_tokens: 500, provider: { order: ["oai"] }, transforms: ["middle-out"], models: ["openai/gpt-4o"] } as never)
      .withResponse();
    assert.equal(openai.stats.byPath["/v1/chat/completions"] ?? 0, chatCalls, "not chat");
    assert.ok(openai.stats.byPath["/v1/responses"]! > 0, "the upstream's own Responses API");
    assert.deepEqual(seen(), { model: "gpt-4o", input: "Say hello", instructions: "Be brief.", max_output_tokens: 500, store: false });
    assert.equal(openai.stats.lastHeaders.authorization, "Bearer sk-upstream-oai");
    assert.equal(data.output_text, "Hello from the mock upstream");
    assert.equal(data.model, "gpt-4o", "the upstream's answer as it came");
    assert.equal((data as unknown as { store: unknown }).store, false);
    assertOpenAI("Response", data);
    const row = await billed(response.headers.get("x-request-id")!);
    assert.equal(row.endpoint, "responses");
    assert.equal(row.providerId, "oai");
    assert.equal(row.promptTokens, 1200);
    assert.equal(row.cachedTokens, 1000);
    assert.equal(row.completionTokens, 300);
    assert.equal(row.reasoningTokens, 200);
    assert.equal(row.priceMicros, priceOf(1200, 1000, 300));
  });

  test("responses.create stream: the upstream's events reach the client unchanged; billed from response.completed", async () => {
    openai.configure({ usage: USAGE, times: 1 });
    const stream = await client.responses.create({ model: "openai/gpt-4o", input: "Say hello", stream: true }).withResponse();
    const events: Array<Record<string, unknown>> = [];
    for await (const e of stream.data) events.push(e as unknown as Record<string, unknown>);
    assert.equal(seen().stream, true);
    // The same request sent to the upstream directly: byte for byte what the client got through the gateway.
    openai.configure({ usage: USAGE, times: 1 });
    const direct = await fetch(`${openai.baseUrl}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(seen()) });
    assert.deepEqual(events, eventsOf(await direct.text()).map((e) => e.data));
    assert.deepEqual(
      events.map((e) => e.type),
      ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", ...events.filter((e) => e.type === "response.output_text.delta").map(() => "response.output_text.delta"), "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"],
    );
    for (const e of events) assertOpenAI("ResponseStreamEvent", e);
    const row = await billed(stream.response.headers.get("x-request-id")!);
    assert.equal(row.status, "completed");
    assert.equal(row.stream, true);
    assert.equal(row.cachedTokens, 1000);
    assert.equal(row.priceMicros, priceOf(1200, 1000, 300));
  });

  test("a stream cut before response.completed is billed once, from the deltas delivered", async () => {
    openai.configure({ cut_after: 3, times: 1 });
    const res = await post({ model: "openai/gpt-4o", input: "Tell me", stream: true });
    assert.equal(res.status, 200);
    const events = eventsOf(await res.text());
    const deltas = events.filter((e) => e.data.type === "response.output_text.delta").map((e) => e.data.delta as string);
    assert.equal(deltas.length, 3);
    assert.ok(!events.some((e) => e.data.type === "response.completed"));
    // The break is told in the Responses API's own error event, after the last event the upstream sent.
    const last = events.at(-1)!;
    assert.equal(last.event, "error");
    assertOpenAI("ResponseErrorEvent", last.data);
    assert.equal(last.data.sequence_number, (events.at(-2)!.data.sequence_number as number) + 1);
    const row = await billed(res.headers.get("x-request-id")!);
    assert.equal(row.completionTokens, countTokens(deltas.join("")), "the local count of what was delivered");
    assert.ok(row.promptTokens! > 0, "the prompt counted locally");
    assert.equal(row.priceMicros, priceOf(row.promptTokens!, 0, row.completionTokens!));
  });

  test("the output cap: the model's maximum replaces a larger max_output_tokens; a small balance's cap is sent when the answer is not streamed", async () => {
    await client.responses.create({ model: "openai/gpt-4o-capped", input: "Hi", max_output_tokens: 5000 });
    assert.equal(seen().max_output_tokens, 1000);
    await client.responses.create({ model: "openai/gpt-4o-capped", input: "Hi", max_output_tokens: 700 });
    assert.equal(seen().max_output_tokens, 700, "the client's own cap as sent");
    await client.responses.create({ model: "openai/gpt-4o", input: "Hi" });
    assert.equal(seen().max_output_tokens, undefined, "no cap when none is due");
    const poor = new OpenAI({ apiKey: (await gw.createAccountWithKey({ balance: "0.05" })).key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { response } = await poor.responses.create({ model: "openai/gpt-4o", input: "Hi" }).withResponse();
    const cap = Number(response.headers.get("x-gateway-max-tokens"));
    assert.ok(cap > 0 && cap < 100, `capped at what 0.05 covers (${cap})`);
    assert.equal(seen().max_output_tokens, cap);
  });

  test("a stream that outgrows its hold is ended with the Responses error event, numbered after the upstream's, and billed once within the hold", async () => {
    const poor = await gw.createAccountWithKey({ balance: "0.05" });
    openai.configure({ chunks: 400, times: 1 });
    const res = await post({ model: "openai/gpt-4o", input: "Count", stream: true }, poor.key);
    assert.equal(res.status, 200);
    const events = eventsOf(await res.text());
    const last = events.at(-1)!;
    assert.equal(last.event, "error");
    assert.equal(last.data.code, "insufficient_quota");
    assert.equal(last.data.sequence_number, (events.at(-2)!.data.sequence_number as number) + 1);
    assertOpenAI("ResponseErrorEvent", last.data);
    const deltas = events.filter((e) => e.data.type === "response.output_text.delta");
    assert.ok(deltas.length > 0 && deltas.length < 400, `ended before the upstream's end (${deltas.length} deltas)`);
    const row = await billed(res.headers.get("x-request-id")!);
    assert.ok(row.priceMicros! > 0n && row.priceMicros! <= 50_000n, `billed ${row.priceMicros} within the balance`);
  });

  test("what chat can't carry (custom tools, file inputs) is served by native routes only; with none, refused as before; hosted tools and stored state never", async () => {
    const body = {
      model: "openai/gpt-4o-fb",
      input: [{ role: "user", content: [{ type: "input_text", text: "What's in it?" }, { type: "input_file", file_url: "https://example.com/a.pdf" }] }],
      tools: [{ type: "custom", name: "code_exec", description: "Runs Python" }],
    };
    // The native route fails once: the chat route (next in line) is not tried, the native one is again.
    openai.configure({ status: 500, times: 1 });
    const chatBefore = chat.stats.requests;
    const { data, response } = await client.responses.create(body as never).withResponse();
    assert.equal(response.headers.get("x-gateway-provider"), "oai");
    assert.equal(chat.stats.requests, chatBefore, "the chat route can't carry it");
    assert.equal(data.output_text, "Hello from the mock upstream");
    assert.deepEqual(seen().tools, body.tools);
    assert.deepEqual(seen().input, body.input);
    const refused = await client.responses.create({ ...body, model: "openai/chat-only" } as never).catch((x: unknown) => x);
    assert.ok(refused instanceof OpenAI.APIError, String(refused));
    assert.equal(refused.status, 400);
    assert.equal(refused.code, "unsupported_parameter");
    // OpenAI's hosted tools are billed per call at OpenAI: refused whatever the route.
    const hosted = await client.responses.create({ model: "openai/gpt-4o", input: "news?", tools: [{ type: "web_search" }] } as never).catch((x: unknown) => x);
    assert.ok(hosted instanceof OpenAI.APIError && hosted.code === "unsupported_parameter" && hosted.param === "tools[0].type", String(hosted));
    // A file stored in the upstream account (the operator's) is not the client's to name.
    const fileRef = await client.responses.create({ model: "openai/gpt-4o", input: [{ role: "user", content: [{ type: "input_file", file_id: "file-abc" }] }] } as never).catch((x: unknown) => x);
    assert.ok(fileRef instanceof OpenAI.APIError && fileRef.code === "unsupported_parameter" && fileRef.param === "input[0].content[0].file_id", String(fileRef));
    // State is never kept, whatever the route.
    const stateful = await client.responses.create({ model: "openai/gpt-4o", input: "hi", previous_response_id: "resp_1" }).catch((x: unknown) => x);
    assert.ok(stateful instanceof OpenAI.APIError && stateful.code === "unsupported_parameter" && stateful.param === "previous_response_id", String(stateful));
  });

  for (const status of [500, 429] as const) {
    test(`a ${status} from the native upstream falls back to a route translated to chat`, async () => {
      openai.configure({ status, times: 1 });
      const [nativeBefore, chatBefore] = [openai.stats.byPath["/v1/responses"] ?? 0, chat.stats.byPath["/v1/chat/completions"] ?? 0];
      const { data, response } = await client.responses.create({ model: "openai/gpt-4o-fb", input: "Say hello" }).withResponse();
      assert.equal(openai.stats.byPath["/v1/responses"], nativeBefore + 1, "the native route was tried first");
      assert.equal(chat.stats.byPath["/v1/chat/completions"], chatBefore + 1, "then the translated one");
      assert.equal((chat.stats.lastBody as { messages: unknown }).messages !== undefined, true);
      assert.equal(response.headers.get("x-gateway-provider"), "chat");
      assert.equal(data.output_text, "Hello from the mock upstream");
      assertOpenAI("Response", data);
      const row = await billed(response.headers.get("x-request-id")!);
      assert.equal(row.endpoint, "responses");
      assert.equal(row.providerId, "chat");
      assert.equal(row.attempts, 2);
    });
  }

  test("a 400 from the native upstream is the client's: OpenAI's error shape, nothing charged", async () => {
    openai.configure({ status: 400, times: 1 });
    const res = await post({ model: "openai/gpt-4o", input: "x" });
    assert.equal(res.status, 400);
    assertOpenAI("ErrorResponse", await res.json());
    const id = res.headers.get("x-request-id")!;
    await gw.gateway.deps.logs.flush();
    const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, id));
    assert.equal(row!.status, "failed");
    assert.equal((await db.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, id)))).length, 0);
  });
});
