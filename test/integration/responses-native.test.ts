import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import OpenAI from "openai";
import { ledgerEntries, requestLogs } from "../../src/db/schema/index.js";
import { startMockUpstream, type MockUpstream } from "../../src/mock/server.js";
import { countTokens } from "../../src/proxy/tokenizer.js";
import { startNativeUpstream, type NativeUpstream, type RecordedRequest, type ScriptedReply } from "../fakes/native-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { assertOpenAI } from "../helpers/openai-schema.js";

// POST /v1/responses on an upstream that serves the Responses API itself: the client's request goes
// to the upstream's /v1/responses (not chat), its answer and events come back unchanged, and the
// request is billed and logged like chat (endpoint `responses`) from the Responses usage.

const UPSTREAM_KEY = "sk-openai-fake-upstream-key";
/** USD per 1M → micros per 1M. */
const M = (usd: number) => BigInt(Math.round(usd * 1e6));
// The default tariff: 100 account units per USD, markup × 1.5.
const sale = (weight: bigint) => (weight * 150n + 999_999n) / 1_000_000n;
const PRICE = { input: 2.5, output: 10, cached_input: 1.25 };
const priceOf = (input: number, cached: number, output: number) => sale(BigInt(input - cached) * M(PRICE.input) + BigInt(cached) * M(PRICE.cached_input) + BigInt(output) * M(PRICE.output));

const USAGE = { input_tokens: 1200, input_tokens_details: { cached_tokens: 1000, cache_write_tokens: 0 }, output_tokens: 300, output_tokens_details: { reasoning_tokens: 200 }, total_tokens: 1500 };

function responseObject(status: "in_progress" | "completed", text: string | null, usage: unknown): Record<string, unknown> {
  return {
    id: "resp_upstream_1",
    object: "response",
    created_at: 1764547200,
    status,
    completed_at: status === "completed" ? 1764547201 : null,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: "gpt-4o-2024-08-06",
    output: text === null ? [] : [{ id: "msg_upstream_1", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [], logprobs: [] }] }],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: null,
    store: false,
    temperature: 1,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    truncation: "disabled",
    ...(usage ? { usage } : {}),
    metadata: {},
  };
}

const ev = (type: string, seq: number, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...data })}\n\n`;

/** A Responses stream as OpenAI sends it; `complete: false` ends it after the deltas (a cut stream). */
function responsesStream(deltas: string[], complete = true): string {
  let seq = 0;
  const item = { id: "msg_upstream_1", type: "message", status: "in_progress", role: "assistant", content: [] };
  const part = { type: "output_text", text: "", annotations: [], logprobs: [] };
  let s = ev("response.created", seq++, { response: responseObject("in_progress", null, null) });
  s += ev("response.in_progress", seq++, { response: responseObject("in_progress", null, null) });
  s += ev("response.output_item.added", seq++, { output_index: 0, item });
  s += ev("response.content_part.added", seq++, { item_id: item.id, output_index: 0, content_index: 0, part });
  for (const d of deltas) s += ev("response.output_text.delta", seq++, { item_id: item.id, output_index: 0, content_index: 0, delta: d, logprobs: [] });
  if (!complete) return s;
  const text = deltas.join("");
  s += ev("response.output_text.done", seq++, { item_id: item.id, output_index: 0, content_index: 0, text, logprobs: [] });
  s += ev("response.content_part.done", seq++, { item_id: item.id, output_index: 0, content_index: 0, part: { ...part, text } });
  s += ev("response.output_item.done", seq++, { output_index: 0, item: { ...item, status: "completed", content: [{ ...part, text }] } });
  return s + ev("response.completed", seq++, { response: responseObject("completed", text, USAGE) });
}

/** OpenAI's /v1/responses as far as these tests need it: the key checked, unknown fields refused (400). */
const FIELDS = new Set(["model", "input", "instructions", "include", "max_output_tokens", "metadata", "parallel_tool_calls", "reasoning", "store", "stream", "temperature", "text", "tool_choice", "tools", "top_p", "truncation", "user"]);
function check(r: RecordedRequest): ScriptedReply | null {
  const invalid = (message: string, status = 400): ScriptedReply => ({ status, error: { error: { message, type: "invalid_request_error", param: null, code: null } } });
  if (r.method !== "POST" || r.url !== "/v1/responses") return invalid(`Invalid URL (${r.method} ${r.url})`, 404);
  if (r.headers.authorization !== `Bearer ${UPSTREAM_KEY}`) return invalid("Incorrect API key provided", 401);
  for (const k of Object.keys(r.body)) if (!FIELDS.has(k)) return invalid(`Unknown parameter: '${k}'.`);
  return null;
}

describeEachDb("OpenAI Responses passed natively to an upstream that serves it", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let openai: NativeUpstream;
  let chat: MockUpstream;
  let client: OpenAI;

  before(async () => {
    db = await createDb();
    openai = await startNativeUpstream({
      check,
      fallback: (r) => (r.body.stream === true ? { sse: responsesStream(["Hello", " from", " OpenAI", "!"]) } : { json: responseObject("completed", "Hello from OpenAI!", USAGE) }),
    });
    chat = await startMockUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [
          // Not api.openai.com, so the config says it serves the Responses API.
          { id: "oai", type: "openai", base_url: `${openai.baseUrl}/v1`, api_key: UPSTREAM_KEY, responses_api: "native" },
          { id: "chat", type: "openai", base_url: chat.baseUrl },
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
    const { key } = await gw.createAccountWithKey({ balance: "1000" });
    client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await openai?.close();
    await chat?.close();
    await db?.drop();
  });

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
    const { data, response } = await client.responses
      .create({ model: "openai/gpt-4o", input: "Say hello", instructions: "Be brief.", max_output_tokens: 500, provider: { order: ["oai"] }, transforms: ["middle-out"] } as never)
      .withResponse();
    const seen = openai.requests.at(-1)!;
    assert.equal(seen.url, "/v1/responses", "the upstream's own Responses API, not chat");
    assert.deepEqual(seen.body, { model: "gpt-4o", input: "Say hello", instructions: "Be brief.", max_output_tokens: 500, store: false });
    const body = data as unknown as Record<string, unknown>;
    assert.equal(body.id, "resp_upstream_1");
    assert.equal(data.output_text, "Hello from OpenAI!");
    assertOpenAI("Response", body);
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
    const stream = await client.responses.create({ model: "openai/gpt-4o", input: "Say hello", stream: true });
    const events: Array<Record<string, unknown>> = [];
    for await (const e of stream) events.push(e as unknown as Record<string, unknown>);
    assert.equal(openai.requests.at(-1)!.url, "/v1/responses");
    assert.equal(openai.requests.at(-1)!.body.stream, true);
    const expected = responsesStream(["Hello", " from", " OpenAI", "!"])
      .split("\n\n")
      .filter(Boolean)
      .map((f) => JSON.parse(f.split("\ndata: ")[1]!));
    assert.deepEqual(events, expected);
    for (const e of events) assertOpenAI("ResponseStreamEvent", e);
    const done = events.at(-1)!.response as { id: string };
    // The gateway's request id is in the log; find the row by the most recent responses request.
    await gw.gateway.deps.logs.flush();
    const rows = await db.db.select().from(requestLogs).where(and(eq(requestLogs.endpoint, "responses"), eq(requestLogs.stream, true)));
    assert.equal(done.id, "resp_upstream_1");
    const row = await billed(rows.at(-1)!.id);
    assert.equal(row.status, "completed");
    assert.equal(row.cachedTokens, 1000);
    assert.equal(row.priceMicros, priceOf(1200, 1000, 300));
  });

  test("a stream cut before response.completed is billed once from the deltas delivered", async () => {
    const deltas = ["The quick", " brown fox", " jumps over"];
    openai.script({ sse: responsesStream(deltas, false) });
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${client.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o", input: "Tell me", stream: true }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.includes(" jumps over") && !text.includes("response.completed"));
    const row = await billed(res.headers.get("x-request-id")!);
    assert.equal(row.completionTokens, countTokens(deltas.join("")), "the local count of what was delivered");
    assert.ok(row.promptTokens! > 0, "the prompt counted locally");
    assert.equal(row.priceMicros, priceOf(row.promptTokens!, 0, row.completionTokens!));
  });

  test("the output cap: the model's maximum replaces a larger max_output_tokens; a small balance's cap is sent when the answer is not streamed", async () => {
    await client.responses.create({ model: "openai/gpt-4o-capped", input: "Hi", max_output_tokens: 5000 });
    assert.equal(openai.requests.at(-1)!.body.max_output_tokens, 1000);
    await client.responses.create({ model: "openai/gpt-4o-capped", input: "Hi", max_output_tokens: 700 });
    assert.equal(openai.requests.at(-1)!.body.max_output_tokens, 700, "the client's own cap as sent");
    const poor = new OpenAI({ apiKey: (await gw.createAccountWithKey({ balance: "0.05" })).key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { response } = await poor.responses.create({ model: "openai/gpt-4o", input: "Hi" }).withResponse();
    const cap = Number(response.headers.get("x-gateway-max-tokens"));
    assert.ok(cap > 0 && cap < 100, `capped at what 0.05 covers (${cap})`);
    assert.equal(openai.requests.at(-1)!.body.max_output_tokens, cap);
  });

  test("a stream that outgrows its hold is ended with the Responses error event, numbered after the upstream's, and billed once within the hold", async () => {
    const poor = await gw.createAccountWithKey({ balance: "0.05" });
    const deltas = Array.from({ length: 200 }, (_, i) => ` word${i}`);
    openai.script({ sse: responsesStream(deltas) });
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${poor.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o", input: "Count", stream: true }),
    });
    assert.equal(res.status, 200);
    const raw = await res.text();
    const frames = raw.split("\n\n").filter(Boolean);
    const last = JSON.parse(frames.at(-1)!.split("\ndata: ")[1]!) as Record<string, unknown>;
    const before = JSON.parse(frames.at(-2)!.split("\ndata: ")[1]!) as { sequence_number: number };
    assert.ok(frames.at(-1)!.startsWith("event: error\n"));
    assert.equal(last.code, "insufficient_quota");
    assert.equal(last.sequence_number, before.sequence_number + 1);
    assertOpenAI("ResponseErrorEvent", last);
    assert.ok(frames.length < deltas.length, "ended before the upstream's end");
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
    openai.script({ status: 500, error: { error: { message: "down", type: "server_error", param: null, code: null } } });
    const chatBefore = chat.stats.requests;
    const { data, response } = await client.responses.create(body as never).withResponse();
    assert.equal(response.headers.get("x-gateway-provider"), "oai");
    assert.equal(chat.stats.requests, chatBefore, "the chat route can't carry it");
    assert.equal(data.output_text, "Hello from OpenAI!");
    assert.deepEqual(openai.requests.at(-1)!.body.tools, [{ type: "custom", name: "code_exec", description: "Runs Python" }]);
    assert.deepEqual((openai.requests.at(-1)!.body.input as Array<{ content: unknown[] }>)[0]!.content[1], { type: "input_file", file_url: "https://example.com/a.pdf" });
    const refused = await client.responses.create({ ...body, model: "openai/chat-only" } as never).catch((x: unknown) => x);
    assert.ok(refused instanceof OpenAI.APIError, String(refused));
    assert.equal(refused.status, 400);
    assert.equal(refused.code, "unsupported_parameter");
    // OpenAI's hosted tools are billed per call at OpenAI: refused whatever the route.
    const hosted = await client.responses.create({ model: "openai/gpt-4o", input: "news?", tools: [{ type: "web_search" }] } as never).catch((x: unknown) => x);
    assert.ok(hosted instanceof OpenAI.APIError && hosted.code === "unsupported_parameter" && hosted.param === "tools[0].type", String(hosted));
    // State is never kept, whatever the route.
    const stateful = await client.responses.create({ model: "openai/gpt-4o", input: "hi", previous_response_id: "resp_1" }).catch((x: unknown) => x);
    assert.ok(stateful instanceof OpenAI.APIError && stateful.code === "unsupported_parameter" && stateful.param === "previous_response_id", String(stateful));
  });

  for (const status of [500, 429] as const) {
    test(`a ${status} from the native upstream falls back to a route translated to chat`, async () => {
      openai.script({ status, error: { error: { message: "upstream trouble", type: "server_error", param: null, code: null } } });
      const before = openai.requests.length;
      const { data, response } = await client.responses.create({ model: "openai/gpt-4o-fb", input: "Say hello" }).withResponse();
      assert.equal(openai.requests.length, before + 1);
      assert.equal(openai.requests.at(-1)!.url, "/v1/responses");
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
    openai.script({ status: 400, error: { error: { message: "Invalid 'input': empty.", type: "invalid_request_error", param: "input", code: "invalid_value" } } });
    const e = await client.responses.create({ model: "openai/gpt-4o", input: "x" }).catch((x: unknown) => x);
    assert.ok(e instanceof OpenAI.APIError, String(e));
    assert.equal(e.status, 400);
    assertOpenAI("ErrorResponse", { error: e.error });
    const id = e.headers?.get("x-request-id");
    assert.ok(id);
    await gw.gateway.deps.logs.flush();
    const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, id));
    assert.equal(row!.status, "failed");
    assert.equal((await db.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, id)))).length, 0);
  });
});
