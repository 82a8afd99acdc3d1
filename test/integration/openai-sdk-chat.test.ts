import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import OpenAI from "openai";
import { apiKeys, requestLogs } from "../../src/db/schema/index.js";
import { createApp } from "../../src/http/app.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

async function logRow(gw: TestGateway, id: string) {
  await gw.gateway.deps.logs.flush();
  const [row] = await gw.gateway.deps.db.select().from(requestLogs).where(eq(requestLogs.id, id));
  return row;
}

/** Waits until the request's log row leaves `pending` (streams finalize after the client's last read). */
async function finalRow(gw: TestGateway, id: string, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const row = await logRow(gw, id);
    if (row && row.status !== "pending") return row;
    if (Date.now() > end) return row;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describeEachDb("chat through the openai SDK", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;
  let client: OpenAI;

  before(async () => {
    db = await createDb();
    gw = await startTestGateway({
      database: db,
      env: { MAX_BODY_BYTES: "20000", UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "1000" },
    });
    ({ key } = await gw.createAccountWithKey());
    client = gw.openai(key);
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("chat completion (non-stream) returns the upstream answer and logs its exact usage", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "Say hello in five words please" }], mock: { usage: { prompt_tokens: 11, completion_tokens: 5, cached_tokens: 3, reasoning_tokens: 2 } } } as never)
      .withResponse();
    assert.equal(data.choices[0]!.message.content, "Hello from the mock upstream");
    assert.equal(data.usage!.prompt_tokens, 11);
    assert.equal(data.usage!.completion_tokens, 5);
    const requestId = response.headers.get("x-request-id")!;
    assert.match(requestId, /^req_[0-9a-f]{32}$/);
    assert.equal(response.headers.get("x-router-log-id"), requestId);
    const row = await logRow(gw, requestId);
    assert.ok(row, "log row written");
    assert.equal(row.status, "completed");
    assert.equal(row.promptTokens, 11);
    assert.equal(row.completionTokens, 5);
    assert.equal(row.totalTokens, 16);
    assert.equal(row.cachedTokens, 3);
    assert.equal(row.reasoningTokens, 2);
    assert.equal(row.estimated, false);
    assert.equal(row.stream, false);
    assert.equal(row.requestedModel, "openai/gpt-4o-mini");
    assert.equal(row.servedModel, "openai/gpt-4o-mini");
    assert.equal(row.providerId, "upstream");
    assert.equal(row.upstreamStatus, 200);
    assert.ok(row.latencyMs !== null && row.latencyMs >= 0);
  });

  test("unknown request fields reach an OpenAI-compatible server untouched; OpenRouter's own do not", async () => {
    await client.chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      response_format: { type: "json_object" },
      provider: { order: ["a", "b"] },
      chat_template_kwargs: { thinking: false },
    } as never);
    const body = gw.mock!.stats.lastBody as Record<string, unknown>;
    assert.deepEqual(body.chat_template_kwargs, { thinking: false });
    assert.equal(body.provider, undefined, "OpenRouter's provider routing is not sent to an openai-type upstream");
    assert.deepEqual(body.response_format, { type: "json_object" });
    assert.equal((body.tools as unknown[]).length, 1);
    assert.equal(gw.mock!.stats.lastHeaders.authorization, "Bearer sk-upstream-secret-xyz");
  });

  test("stream without include_usage: chunks pass through, no usage chunk reaches the client, usage is still logged", async () => {
    const stream = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "stream please" }], stream: true, mock: { chunks: 4 } } as never);
    let text = "";
    let sawUsage = false;
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) sawUsage = true;
    }
    assert.equal(text, "Hello from the mock");
    assert.equal(sawUsage, false);
    assert.equal((gw.mock!.stats.lastBody as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage, true, "gateway asked upstream for usage");
  });

  test("stream with include_usage: the final usage chunk arrives and matches the log", async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "stream please" }], stream: true, stream_options: { include_usage: true }, mock: { chunks: 6, usage: { prompt_tokens: 9, completion_tokens: 6 } } } as never)
      .withResponse();
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks >= 7);
    assert.ok(usage);
    assert.equal(usage.prompt_tokens, 9);
    assert.equal(usage.completion_tokens, 6);
    const row = await finalRow(gw, response.headers.get("x-request-id")!);
    assert.equal(row!.status, "completed");
    assert.equal(row!.stream, true);
    assert.equal(row!.promptTokens, 9);
    assert.equal(row!.completionTokens, 6);
    assert.equal(row!.estimated, false);
    assert.ok(row!.ttftMs !== null);
  });

  test("stream without usage from upstream is counted locally and marked estimated", async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "no usage" }], stream: true, mock: { chunks: 5, omit_usage: true } } as never)
      .withResponse();
    for await (const _ of stream as unknown as AsyncIterable<unknown>) void _;
    const row = await finalRow(gw, response.headers.get("x-request-id")!);
    assert.equal(row!.status, "completed");
    assert.equal(row!.estimated, true);
    assert.ok(row!.completionTokens! > 0);
    assert.ok(row!.promptTokens! > 0);
  });

  test("a prompt holding special-token text (<|endoftext|>) is counted as plain text when upstream reports no usage", async () => {
    // The tokenizer's encoder throws on special tokens by default; a prompt is user text, never a control token.
    for (const stream of [false, true]) {
      const { data, response } = await client.chat.completions
        .create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "ignore this <|endoftext|> <|im_start|>system" }], stream, mock: { chunks: 3, omit_usage: true } } as never)
        .withResponse();
      if (stream) for await (const _ of data as unknown as AsyncIterable<unknown>) void _;
      assert.equal(response.status, 200);
      const row = await finalRow(gw, response.headers.get("x-request-id")!);
      assert.equal(row!.status, "completed");
      assert.equal(row!.estimated, true);
      assert.ok(row!.promptTokens! > 10, `prompt tokens ${row!.promptTokens}`);
    }
  });

  test("completions and embeddings", async () => {
    const c = await client.completions.create({ model: "openai/gpt-3.5-turbo-instruct", prompt: "Once upon a time" });
    assert.equal(c.choices[0]!.text, "Hello from the mock upstream");
    assert.ok(c.usage!.total_tokens > 0);
    const e = await client.embeddings.create({ model: "openai/text-embedding-3-small", input: ["a", "bb"] });
    assert.equal(e.data.length, 2);
    assert.equal(e.data[0]!.embedding.length, 8);
    assert.ok(e.usage.prompt_tokens > 0);
  });

  test("a client abort mid-stream leaves a cancelled row with estimated tokens", async () => {
    const controller = new AbortController();
    const { data: stream, response } = await client.chat.completions
      .create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "long story" }], stream: true, mock: { chunks: 200, interval_ms: 20 } } as never, { signal: controller.signal })
      .withResponse();
    let got = 0;
    try {
      for await (const chunk of stream as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
        if (chunk.choices[0]?.delta?.content) got++;
        if (got === 3) controller.abort();
      }
    } catch (e) {
      assert.ok(e instanceof Error);
    }
    const row = await finalRow(gw, response.headers.get("x-request-id")!);
    assert.equal(row!.status, "cancelled");
    assert.equal(row!.estimated, true);
    assert.ok(row!.completionTokens! >= 3, `completion tokens ${row!.completionTokens}`);
    assert.ok(row!.completionTokens! < 100, "not billed for the whole stream");
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(gw.mock!.stats.aborted >= 1, "the upstream read was cancelled");
  });

  test("outside @hono/node-server (app.request) streams go through a web ReadableStream with the same framing", async () => {
    const app = createApp(gw.gateway.deps);
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "x" }], mock: { chunks: 3 } }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal((text.match(/"content":"/g) ?? []).length, 4, "role chunk + 3 content chunks");
    assert.match(text, /"usage":\{"prompt_tokens":\d+/);
    assert.ok(text.trimEnd().endsWith("data: [DONE]"));
    const row = await finalRow(gw, res.headers.get("x-request-id")!);
    assert.equal(row!.status, "completed");
  });

  test("models list and one model by an id containing a slash", async () => {
    // No `models` list in this config: the list is the upstream's own (every model passes through).
    const list = await client.models.list();
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"],
    );
    const res = await fetch(`${gw.url}/v1/models/openai/gpt-4o-mini`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 404, "no models entry names it in this config");
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, "model_not_found");
  });

  test("errors surface as the SDK's typed errors with OpenAI-shaped bodies and a request id", async () => {
    const noKey = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0, defaultHeaders: { authorization: null } });
    await assert.rejects(noKey.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.AuthenticationError);
      assert.equal(e.status, 401);
      return true;
    });
    const missing = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", body: "{}" });
    assert.equal(missing.status, 401);
    const mb = (await missing.json()) as { error: { code: string; request_id: string; type: string } };
    assert.equal(mb.error.code, "missing_api_key");
    assert.equal(mb.error.type, "authentication_error");
    assert.equal(mb.error.request_id, missing.headers.get("x-request-id"));

    const badKey = gw.openai("sk-gw-" + "x".repeat(40));
    await assert.rejects(badKey.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.AuthenticationError);
      assert.equal((e as InstanceType<typeof OpenAI.APIError>).code, "invalid_api_key");
      return true;
    });

    await assert.rejects(client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.code, "invalid_request");
      assert.equal(e.param, "messages");
      return true;
    });
    const badJson = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{not json" });
    assert.equal(badJson.status, 400);
    assert.equal(((await badJson.json()) as { error: { code: string } }).error.code, "invalid_json");

    // The upstream's own 404 for a model it does not serve passes through with OpenAI's code.
    gw.mock!.refuseModels("openai/nonexistent-model");
    await assert.rejects(client.chat.completions.create({ model: "openai/nonexistent-model", messages: [{ role: "user", content: "x" }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.NotFoundError);
      assert.equal(e.code, "model_not_found");
      return true;
    });

    await assert.rejects(client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(30000) }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError);
      assert.equal(e.status, 413);
      assert.equal(e.code, "payload_too_large");
      return true;
    });

    await assert.rejects(client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }], mock: { status: 500, error_message: "boom at /srv/app.py line 3 key sk-upstream-secret-xyz" } } as never), (e: unknown) => {
      assert.ok(e instanceof OpenAI.InternalServerError);
      assert.equal(e.status, 502);
      assert.equal(e.code, "upstream_error");
      assert.ok(!JSON.stringify(e.error).includes("sk-upstream-secret-xyz"), "no upstream secret in the error");
      return true;
    });

    await assert.rejects(client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }], mock: { delay_ms: 2500 } } as never), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError);
      assert.equal(e.status, 504);
      assert.equal(e.code, "upstream_timeout");
      return true;
    });
  });

  test("a revoked key gets 403 and a disabled key gets 403, within the cache TTL (immediately after invalidate)", async () => {
    const { key: k2, keyId } = await gw.createAccountWithKey({ name: "to revoke" });
    const c2 = gw.openai(k2);
    await c2.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] });
    await gw.gateway.deps.db.update(apiKeys).set({ status: "revoked" }).where(eq(apiKeys.id, keyId));
    gw.gateway.deps.keys.invalidate({ keyId });
    await assert.rejects(c2.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.PermissionDeniedError);
      assert.equal(e.code, "key_revoked");
      return true;
    });
    await gw.gateway.deps.db.update(apiKeys).set({ status: "disabled" }).where(eq(apiKeys.id, keyId));
    gw.gateway.deps.keys.invalidate({ keyId });
    await assert.rejects(c2.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.PermissionDeniedError);
      assert.equal(e.code, "key_disabled");
      return true;
    });
  });

  test("failed requests are logged with the error code", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }], mock: { status: 503 } }),
    });
    assert.equal(res.status, 502);
    const row = await logRow(gw, res.headers.get("x-request-id")!);
    assert.equal(row!.status, "failed");
    assert.equal(row!.errorCode, "upstream_error");
    assert.equal(row!.upstreamStatus, 503);
  });
});

describeEachDb("models list from the gateway config", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  before(async () => {
    db = await createDb();
    gw = await startTestGateway({
      database: db,
      config: {
        providers: [{ id: "main", type: "mock" }],
        models: [{ id: "openai/gpt-4o-mini", aliases: ["gpt-4o-mini"], routes: [{ provider: "main", model: "gpt-4o-mini" }], price: { input: 0.15, output: 0.6 }, context_length: 128000 }],
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("configured models are listed with prices; one model by id; an alias is served under the canonical id", async () => {
    const { key } = await gw.createAccountWithKey();
    const client = gw.openai(key);
    const list = await client.models.list();
    assert.deepEqual(list.data.map((m) => m.id), ["openai/gpt-4o-mini"]);
    const one = (await (await fetch(`${gw.url}/v1/models/openai/gpt-4o-mini`, { headers: { authorization: `Bearer ${key}` } })).json()) as { id: string; context_length: number; pricing: { prompt: string; completion: string } };
    assert.equal(one.id, "openai/gpt-4o-mini");
    assert.equal(one.context_length, 128000);
    // What the customer pays per token: $0.15 / $0.60 per 1M × USD_RATE 100 × DEFAULT_MARKUP 1.5, in RUB.
    assert.equal(one.pricing.prompt, "0.0000225");
    assert.equal(one.pricing.completion, "0.00009");
    const { response } = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }).withResponse();
    assert.equal(response.headers.get("x-gateway-model"), "gpt-4o-mini");
    const row = await logRow(gw, response.headers.get("x-request-id")!);
    assert.equal(row!.requestedModel, "gpt-4o-mini");
    assert.ok(row!.priceMicros! > 0n, "priced from the config");
  });
});
