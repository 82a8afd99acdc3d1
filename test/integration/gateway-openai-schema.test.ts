import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { assertOpenAI, sseJsonPayloads } from "../helpers/openai-schema.js";

// What the gateway itself writes on its OpenAI-shaped routes is valid against OpenAI's published
// schema (../shared/specs/openai-openapi.yaml): answers, stream chunks, errors, models, embeddings.
describeEachDb("the gateway's OpenAI-shaped bodies match OpenAI's published schema", (_kind, createDb) => {
  let db: TestDatabase;
  let mock: OpenAIUpstream;
  let gw: TestGateway;
  let key: string;

  before(async () => {
    db = await createDb();
    mock = await startOpenAIUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [{ id: "mock", type: "openai", base_url: mock.baseUrl }],
        models: [
          { id: "t/mini", routes: [{ provider: "mock", model: "gpt-4o-mini" }], price: { input: 0.15, output: 0.6 } },
          { id: "t/embed", routes: [{ provider: "mock", model: "text-embedding-3-small" }], price: { input: 0.02, output: 0 } },
        ],
      },
      env: { BILLING_CACHE_TTL_MS: "0", KEY_CACHE_TTL_MS: "0", RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0" },
    });
    ({ key } = await gw.createAccountWithKey({ balance: "50" }));
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await db?.drop();
  });

  const post = (path: string, body: unknown, auth: string | null = key) =>
    fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, body: JSON.stringify(body) });

  test("a chat answer", async () => {
    const r = await post("/v1/chat/completions", { model: "t/mini", messages: [{ role: "user", content: "hi" }] });
    assert.equal(r.status, 200);
    assertOpenAI("CreateChatCompletionResponse", await r.json());
  });

  test("every chunk of a stream with usage, the usage chunk included", async () => {
    const r = await post("/v1/chat/completions", { model: "t/mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] });
    assert.equal(r.status, 200);
    const chunks = sseJsonPayloads(await r.text());
    assert.ok(chunks.length >= 2, "chunks arrived");
    assert.ok(chunks.some((c) => (c as { usage?: unknown }).usage), "a usage chunk");
    for (const c of chunks) assertOpenAI("CreateChatCompletionStreamResponse", c);
  });

  test("errors: bad key, bad input, unknown model", async () => {
    const bad = [await post("/v1/chat/completions", { model: "t/mini", messages: [] }, "sk-gw-not-a-key"), await post("/v1/chat/completions", { model: "t/mini", messages: "nope" }), await post("/v1/chat/completions", { model: "", messages: [{ role: "user", content: "x" }] })];
    for (const r of bad) {
      assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
      assertOpenAI("ErrorResponse", await r.json());
    }
  });

  test("the model list, with and without a key", async () => {
    for (const auth of [key, null]) {
      const r = await fetch(`${gw.url}/v1/models`, { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
      assert.equal(r.status, 200);
      const body = (await r.json()) as { data: unknown[] };
      assert.ok(body.data.length >= 1);
      assertOpenAI("ListModelsResponse", body);
    }
  });

  test("an embeddings answer", async () => {
    const r = await post("/v1/embeddings", { model: "t/embed", input: "hello" });
    assert.equal(r.status, 200);
    assertOpenAI("CreateEmbeddingResponse", await r.json());
  });
});
