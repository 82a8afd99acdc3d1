import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { requestLogs } from "../../src/db/schema/index.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

interface Seen {
  method: string;
  url: string;
  contentType: string;
  authorization: string;
  body: Buffer;
}

/** An OpenAI/OpenRouter-like upstream that records every request byte for byte. */
async function recordingUpstream() {
  const seen: Seen[] = [];
  const s = createServer(async (req: IncomingMessage, res) => {
    const parts: Buffer[] = [];
    for await (const p of req) parts.push(p as Buffer);
    const body = Buffer.concat(parts);
    const ct = req.headers["content-type"] ?? "";
    seen.push({ method: req.method!, url: req.url!, contentType: ct, authorization: String(req.headers.authorization ?? ""), body });
    const json = (status: number, o: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(o));
    };
    if (req.method === "GET") return json(200, { object: "list", data: [{ id: "upstream-model" }] });
    if (req.url!.endsWith("/audio/speech")) {
      res.writeHead(200, { "content-type": "audio/mpeg" });
      return res.end(Buffer.from([0x49, 0x44, 0x33, 0, 1, 2, 255]));
    }
    if (!ct.includes("application/json")) return json(200, { object: "echo", bytes: body.length, usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } });
    const b = JSON.parse(body.toString()) as Record<string, unknown>;
    if (typeof b.fail === "number") return json(b.fail, { error: { message: `upstream says ${b.fail}: field x is wrong`, type: "invalid_request_error" } });
    if (b.stream === true) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", delta: "hi" })}\n\n`);
      res.write(`event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", response: { id: "r1", usage: { input_tokens: 7, output_tokens: 11, total_tokens: 18 } } })}\n\n`);
      return res.end();
    }
    return json(200, {
      id: "x",
      object: "echo",
      path: req.url,
      // OpenRouter answers with the model that served, e.g. a dated version of the one asked for.
      model: b.provider ? `${String(b.model)}-2024-11-20` : b.model,
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage: b.no_usage ? undefined : { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, cost: 0.0001 },
    });
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

describeEachDb("pass-through endpoints and the generic OpenRouter proxy", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;
  let up: Awaited<ReturnType<typeof recordingUpstream>>;

  before(async () => {
    db = await createDb();
    up = await recordingUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: { providers: [{ id: "or", type: "openrouter", base_url: up.baseUrl, api_key: "sk-or-test-key-123456" }], models: [] },
      env: { RATE_LIMIT_REQUESTS: "0" },
    });
    ({ key } = await gw.createAccountWithKey({ balance: "100.00" }));
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    await db?.drop();
  });

  const post = (path: string, body: RequestInit["body"], contentType = "application/json", k: string | null = key) =>
    fetch(gw.url + path, { method: "POST", headers: { ...(k ? { authorization: `Bearer ${k}` } : {}), ...(contentType ? { "content-type": contentType } : {}) }, body });
  const row = async (res: Response) => {
    const id = res.headers.get("x-request-id")!;
    for (let i = 0; i < 200; i++) {
      await gw.gateway.deps.logs.flush();
      const [r] = await gw.gateway.deps.db.select().from(requestLogs).where(eq(requestLogs.id, id));
      if (r && r.status !== "pending") return r;
      await new Promise((x) => setTimeout(x, 20));
    }
    throw new Error("no final row");
  };

  test("JSON endpoints are forwarded under the same auth, logged, and billed from the reported usage", async () => {
    up.seen.length = 0;
    const res = await post("/v1/moderations", JSON.stringify({ input: "is this fine?" }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-gateway-provider"), "or");
    const j = (await res.json()) as { path: string; usage: { prompt_tokens: number } };
    assert.equal(j.path, "/v1/moderations");
    const s = up.seen[0]!;
    assert.equal(s.authorization, "Bearer sk-or-test-key-123456");
    const sent = JSON.parse(s.body.toString()) as { input: string; usage: { include: boolean } };
    assert.equal(sent.input, "is this fine?");
    assert.deepEqual(sent.usage, { include: true }, "OpenRouter is asked for its cost");
    const r = await row(res);
    assert.equal(r.endpoint, "passthrough");
    assert.equal(r.status, "completed");
    assert.equal(r.promptTokens, 5);
    assert.ok(r.priceMicros !== null && r.priceMicros > 0n, "billed");
    assert.equal((r.meta as { path: string }).path, "/moderations");
  });

  test("no usage reported → not billed (the hold is released)", async () => {
    const res = await post("/v1/images/generations", JSON.stringify({ model: "openai/dall-e-3", prompt: "a cat", no_usage: true }));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { model: string }).model, "openai/dall-e-3");
    const r = await row(res);
    assert.equal(r.status, "completed");
    assert.equal(r.priceMicros, null);
    assert.equal(r.requestedModel, "openai/dall-e-3");
  });

  test("multipart and binary bodies pass byte for byte", async () => {
    up.seen.length = 0;
    const fd = new FormData();
    const audio = new Uint8Array([0, 1, 2, 3, 250, 251, 252, 253]);
    fd.append("file", new Blob([audio], { type: "audio/wav" }), "a.wav");
    fd.append("model", "whisper-1");
    const req = new Request(gw.url + "/v1/audio/transcriptions", { method: "POST", headers: { authorization: `Bearer ${key}` }, body: fd });
    const bytes = Buffer.from(await req.clone().arrayBuffer());
    const res = await fetch(req);
    assert.equal(res.status, 200, await res.clone().text());
    const s = up.seen[0]!;
    assert.equal(s.url, "/v1/audio/transcriptions");
    assert.equal(s.contentType, req.headers.get("content-type"));
    assert.ok(s.body.equals(bytes), "multipart body forwarded unchanged");

    const speech = await post("/v1/audio/speech", JSON.stringify({ model: "tts-1", input: "hi", voice: "alloy" }));
    assert.equal(speech.status, 200);
    assert.equal(speech.headers.get("content-type"), "audio/mpeg");
    assert.deepEqual([...new Uint8Array(await speech.arrayBuffer())], [0x49, 0x44, 0x33, 0, 1, 2, 255]);
  });

  // /v1/responses is translated to chat now (test/integration/inbound-dialects.test.ts); a streamed
  // pass-through endpoint still relays the upstream's events and reads the usage they report.
  test("a streamed pass-through call relays its events; usage from response.completed is logged", async () => {
    const res = await post("/v1/images/generations", JSON.stringify({ model: "openai/gpt-4o", prompt: "hi", stream: true }));
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /response\.output_text\.delta/);
    assert.match(text, /response\.completed/);
    const r = await row(res);
    assert.equal(r.promptTokens, 7);
    assert.equal(r.completionTokens, 11);
    assert.equal(r.stream, true);
  });

  test("upstream client errors keep their status and message", async () => {
    const res = await post("/v1/rerank", JSON.stringify({ model: "rerank-1", query: "q", documents: ["a"], fail: 400 }));
    assert.equal(res.status, 400);
    const j = (await res.json()) as { error: { message: string; request_id: string } };
    assert.match(j.error.message, /field x is wrong/);
    assert.ok(j.error.request_id);
  });

  test("generic /api/v1/openrouter/*: GET is forwarded free; chat takes the full pipeline", async () => {
    up.seen.length = 0;
    const models = await fetch(`${gw.url}/api/v1/openrouter/models?supported_parameters=tools`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(models.status, 200);
    assert.equal(((await models.json()) as { data: Array<{ id: string }> }).data[0]!.id, "upstream-model");
    assert.equal(up.seen[0]!.url, "/v1/models?supported_parameters=tools");
    assert.equal(up.seen[0]!.method, "GET");
    assert.equal((await row(models)).priceMicros, null);

    const chat = await post("/api/v1/openrouter/chat/completions", JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }));
    assert.equal(chat.status, 200);
    assert.equal(up.seen[1]!.url, "/v1/chat/completions");
    const r = await row(chat);
    assert.equal(r.endpoint, "chat.completions");
    assert.equal(r.promptTokens, 5);
  });

  // `models` is the gateway's own fallback list (its router walks it, each entry priced and allowed);
  // forwarded, OpenRouter would pick models the hold was not computed for.
  test("OpenRouter gets `provider` untouched and not `models`; the model that actually served is reported", async () => {
    up.seen.length = 0;
    const provider = { order: ["Anthropic", "OpenAI"], allow_fallbacks: true };
    const res = await post("/v1/chat/completions", JSON.stringify({ model: "openai/gpt-4o", models: ["openai/gpt-4o", "anthropic/claude-3.5-sonnet"], provider, messages: [{ role: "user", content: "hi" }] }));
    assert.equal(res.status, 200);
    const sent = JSON.parse(up.seen[0]!.body.toString()) as { models?: string[]; provider: unknown };
    assert.equal(sent.models, undefined);
    assert.deepEqual(sent.provider, provider);
    assert.equal(res.headers.get("x-gateway-model"), "openai/gpt-4o-2024-11-20");
    assert.equal((await row(res)).servedModel, "openai/gpt-4o-2024-11-20");
  });

  test("the same API-key auth: no key → 401", async () => {
    for (const path of ["/v1/images/generations", "/v1/responses", "/api/v1/openrouter/chat/completions"]) {
      const res = await post(path, JSON.stringify({ model: "m" }), "application/json", null);
      assert.equal(res.status, 401, path);
    }
    const get = await fetch(`${gw.url}/api/v1/openrouter/models`);
    assert.equal(get.status, 401);
  });
});
