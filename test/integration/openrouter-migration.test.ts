import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import OpenAI from "openai";
import { accounts, ledgerEntries, requestLogs } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

// A client that used OpenRouter changes only its base URL (`…/api/v1`) and its key.
// Prices: USD per 1M tokens, 100 account units per USD, default markup × 1.5.
const MINI = { input: 0.15, output: 0.6 };
const USAGE = { prompt_tokens: 1000, completion_tokens: 500 };
// (1000 × 0.15 + 500 × 0.6) / 1e6 USD × 100 × 1.5 = 0.0675 in the account currency.
const CHARGE_MICROS = 67_500n;

describeEachDb("a client moving from OpenRouter: only the base URL and key change", (_kind, createDb) => {
  let db: TestDatabase;
  let mock: OpenAIUpstream;
  let gw: TestGateway;
  let base: string;
  let key: string;
  let accountId: string;
  let client: OpenAI;

  before(async () => {
    db = await createDb();
    mock = await startOpenAIUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [{ id: "mock", type: "openai", base_url: mock.baseUrl }],
        models: [
          { id: "t/mini", routes: [{ provider: "mock", model: "gpt-4o-mini" }], price: MINI },
          { id: "t/backup", routes: [{ provider: "mock", model: "gpt-4o" }], price: { input: 2.5, output: 10 } },
          { id: "t/unpriced", routes: [{ provider: "mock", model: "gpt-unpriced" }] },
        ],
      },
      env: { USD_RATE: "100", DEFAULT_MARKUP: "1.5", BILLING_UNPRICED_HOLD: "", BILLING_CACHE_TTL_MS: "0", KEY_CACHE_TTL_MS: "0", RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0" },
    });
    base = `${gw.url}/api/v1`;
    ({ key, accountId } = await gw.createAccountWithKey({ balance: "50", key: { limits: { total_money: "20" } } }));
    client = new OpenAI({ apiKey: key, baseURL: base, maxRetries: 0, timeout: 20_000 });
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await db?.drop();
  });

  /** The request's final log row (a stream settles after its last byte went out). */
  const logRow = async (id: string | null) => {
    assert.ok(id, "x-request-id");
    for (let i = 0; ; i++) {
      await gw.gateway.deps.logs.flush();
      const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, id));
      if (row && row.status !== "pending") return row;
      if (i > 200) assert.fail(`log row of ${id} not final`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const usageLedger = async (ref: string) => {
    const rows = await db.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.accountId, accountId), eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, ref)));
    assert.equal(rows.length, 1, `one usage ledger row for ${ref}`);
    return rows[0]!;
  };
  const get = (path: string, k: string | null = key) => fetch(base + path, { headers: k ? { authorization: `Bearer ${k}` } : {} });
  const balanceMicros = async () => (await db.db.select().from(accounts).where(eq(accounts.id, accountId)))[0]!.balanceMicros;

  let chatId = "";

  test("chat (non-stream) through the openai SDK at /api/v1, billed at the customer's price", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "t/mini", messages: [{ role: "user", content: "Hi" }], mock: { usage: USAGE } } as never)
      .withResponse();
    assert.equal(data.choices[0]!.message.content, "Hello from the mock upstream");
    assert.equal(data.usage!.prompt_tokens, 1000);
    assert.equal(data.usage!.completion_tokens, 500);
    assert.equal((data.usage as unknown as { cost: number }).cost, 0.0675);
    chatId = response.headers.get("x-request-id")!;
    const row = await logRow(chatId);
    assert.equal(row.status, "completed");
    assert.equal(row.priceMicros, CHARGE_MICROS);
    assert.equal((await usageLedger(chatId)).amountMicros, -CHARGE_MICROS);
  });

  test("stream with usage: text deltas and a final usage chunk with the cost", async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: "t/mini", messages: [{ role: "user", content: "Hi" }], stream: true, stream_options: { include_usage: true }, mock: { usage: USAGE } } as never)
      .withResponse();
    let text = "";
    let usage: (OpenAI.CompletionUsage & { cost?: number }) | undefined;
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, "Hello from the mock upstream");
    assert.ok(usage, "a usage chunk");
    assert.equal(usage.prompt_tokens, 1000);
    assert.equal(usage.completion_tokens, 500);
    assert.equal(usage.cost, 0.0675);
    const id = response.headers.get("x-request-id");
    const row = await logRow(id);
    assert.equal(row.stream, true);
    assert.equal(row.priceMicros, CHARGE_MICROS);
  });

  test("models.list() shows what the customer pays, not the upstream cost", async () => {
    const list = await client.models.list();
    const byId = new Map(list.data.map((m) => [m.id, m as unknown as Record<string, any>]));
    assert.deepEqual([...byId.keys()].sort(), ["t/backup", "t/mini"], "the unpriced model is not for sale");
    const mini = byId.get("t/mini")!;
    // 0.15 USD per 1M × 100 × 1.5 = 22.5 per 1M = 0.0000225 per token; upstream cost would be 0.00000015.
    assert.deepEqual(mini.pricing, { prompt: "0.0000225", completion: "0.00009" });
    assert.equal(mini.price.prompt_per_1m, 22.5);
    assert.equal(mini.price.completion_per_1m, 90);
    assert.equal(mini.price.currency, gw.gateway.deps.settings.currency);
  });

  test("GET /api/v1/models without a key: 200 with the default tariff's prices", async () => {
    const r = await get("/models", null);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { data: Array<Record<string, any>> };
    const mini = body.data.find((m) => m.id === "t/mini")!;
    assert.deepEqual(mini.pricing, { prompt: "0.0000225", completion: "0.00009" });
    assert.equal((await get("/models", "sk-gw-not-a-key")).status, 401, "a bad key is still refused");
  });

  test("a key on a tariff with another markup sees that tariff's prices", async () => {
    const t = await gw.admin("/admin/tariffs", { body: { name: "Triple", markup: "3.0" } });
    assert.equal(t.status, 201, await t.clone().text());
    const tariffId = ((await t.json()) as { id: string }).id;
    const other = await gw.createAccountWithKey({ name: "Other" });
    assert.equal((await gw.admin(`/admin/accounts/${other.accountId}/tariff`, { method: "PUT", body: { tariff_id: tariffId } })).status, 200);
    const list = await new OpenAI({ apiKey: other.key, baseURL: base, maxRetries: 0 }).models.list();
    const mini = list.data.find((m) => m.id === "t/mini") as unknown as Record<string, any>;
    assert.deepEqual(mini.pricing, { prompt: "0.000045", completion: "0.00018" });
    assert.equal(mini.price.prompt_per_1m, 45);
  });

  test("GET /api/v1/key: numbers, consistent with the ledger", async () => {
    const r = await get("/key");
    assert.equal(r.status, 200);
    const { data } = (await r.json()) as { data: Record<string, unknown> };
    const spentMicros = -(await db.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.accountId, accountId), eq(ledgerEntries.kind, "usage")))).reduce((s, e) => s + e.amountMicros, 0n);
    assert.equal(spentMicros, 2n * CHARGE_MICROS, "two requests charged so far");
    for (const f of ["limit", "limit_remaining", "usage", "usage_daily", "usage_monthly"]) assert.equal(typeof data[f], "number", f);
    assert.equal(data.limit, 20);
    assert.equal(data.usage, Number(spentMicros) / 1e6);
    assert.equal(data.limit_remaining, 20 - Number(spentMicros) / 1e6);
    assert.equal(data.is_free_tier, false);
    assert.equal(data.limit_reset, null);
    assert.equal((await get("/keys")).status, 404, "OpenRouter's key management is not served");
  });

  test("GET /api/v1/credits: total_credits − total_usage = balance", async () => {
    const r = await get("/credits");
    assert.equal(r.status, 200);
    const { data } = (await r.json()) as { data: { total_credits: number; total_usage: number } };
    assert.equal(data.total_credits, 50);
    assert.equal(data.total_usage, Number(2n * CHARGE_MICROS) / 1e6);
    assert.equal(Math.round((data.total_credits - data.total_usage) * 1e6), Number(await balanceMicros()));
  });

  test("GET /api/v1/generation?id=…: numeric total_cost equals the ledger charge", async () => {
    const r = await get(`/generation?id=${chatId}`);
    assert.equal(r.status, 200);
    const { data } = (await r.json()) as { data: Record<string, unknown> };
    assert.equal(data.id, chatId);
    assert.equal(data.total_cost, 0.0675);
    assert.equal(data.total_cost, -Number((await usageLedger(chatId)).amountMicros) / 1e6);
    assert.equal(data.model, "t/mini");
    assert.equal((await get("/generation?id=req_00000000000000000000000000000000")).status, 404);
  });

  test("`models: [a, b]` without `model` is served by a; an unknown entry is refused naming it", async () => {
    const { data, response } = await client.chat.completions
      .create({ models: ["t/mini", "t/backup"], messages: [{ role: "user", content: "Hi" }], mock: { usage: USAGE } } as never)
      .withResponse();
    assert.equal(data.choices[0]!.message.content, "Hello from the mock upstream");
    const row = await logRow(response.headers.get("x-request-id"));
    assert.equal(row.requestedModel, "t/mini");
    assert.equal(row.servedModel, "gpt-4o-mini", "the first model's upstream, not t/backup's gpt-4o");
    assert.equal(row.priceMicros, CHARGE_MICROS);
    const bad = await client.chat.completions.create({ models: ["t/mini", "t/nope"], messages: [{ role: "user", content: "Hi" }] } as never).catch((e: unknown) => e);
    assert.ok(bad instanceof OpenAI.APIError, String(bad));
    // Checked like `model` itself (a name the config does not list goes to the first provider, and
    // nobody priced it), with the list entry as param, before anything is held or sent upstream.
    assert.equal(bad.status, 403, JSON.stringify(bad.error));
    assert.equal(bad.code, "model_not_priced");
    assert.equal(bad.param, "models.1");
    const same = await client.chat.completions.create({ model: "t/nope", messages: [{ role: "user", content: "Hi" }] }).catch((e: unknown) => e);
    assert.ok(same instanceof OpenAI.APIError);
    assert.deepEqual([same.status, same.code, same.param], [403, "model_not_priced", "model"]);
  });

  test("an unpriced model is refused with model_not_priced, nothing charged", async () => {
    const before = await balanceMicros();
    const e = await client.chat.completions.create({ model: "t/unpriced", messages: [{ role: "user", content: "Hi" }] }).catch((x: unknown) => x);
    assert.ok(e instanceof OpenAI.APIError, String(e));
    assert.equal(e.code, "model_not_priced");
    // The error table's status for it: a permission refusal, like model_not_allowed.
    assert.equal(e.status, 403);
    assert.equal(e.param, "model");
    assert.equal(await balanceMicros(), before);
  });

  test("curl-style fetch at /api/v1/chat/completions works the same", async () => {
    const r = await fetch(`${base}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "t/mini", messages: [{ role: "user", content: "Hi" }] }),
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(body.choices[0]!.message.content, "Hello from the mock upstream");
  });
});
