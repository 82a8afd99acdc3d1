import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import { auditLog, requestLogs } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { countTokens } from "../../src/proxy/o200k-count.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/** A TCP port that accepts connections and never says a word: TLS to it can only time out. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on("error", () => undefined);
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const x of sockets) x.destroy();
        s.close(() => r());
      }),
  };
}

/** A port where nothing listens: connection refused. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * An upstream that streams K content chunks, then breaks the connection (no finish, no usage, no
 * [DONE]). It waits before the cut so the chunks are delivered first, as a real mid-answer cut is.
 */
async function cuttingUpstream(K: number): Promise<{ baseUrl: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const s = createHttpServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      state.requests++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta: Record<string, unknown>) =>
        res.write(`data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
      chunk({ role: "assistant", content: "" });
      for (let i = 0; i < K; i++) {
        await sleep(15);
        chunk({ content: `word${i} ` });
      }
      await sleep(100);
      res.socket?.destroy();
    });
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

function sseData(text: string): unknown[] {
  return text
    .split(/\n\n/)
    .map((f) => f.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n"))
    .filter((d) => d && d !== "[DONE]")
    .map((d) => JSON.parse(d) as unknown);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDb("routing and resilience through the gateway", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;
  let A: OpenAIUpstream; // faulty primary
  let B: OpenAIUpstream; // healthy backup
  let C: OpenAIUpstream; // breaker subject
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let cutter: Awaited<ReturnType<typeof cuttingUpstream>>;
  const K = 3;

  before(async () => {
    db = await createDb();
    [A, B, C] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream(), startOpenAIUpstream()]);
    silent = await silentServer();
    cutter = await cuttingUpstream(K);
    const dead = await closedPort();
    const p = (id: string, m: OpenAIUpstream | string, timeouts?: Record<string, number>) => ({
      id,
      type: "openai",
      base_url: typeof m === "string" ? m : m.baseUrl,
      api_key: `sk-config-${id}-0000000000`,
      ...(timeouts ? { timeouts } : {}),
    });
    const model = (id: string, routes: Array<[string, number, number?]>) => ({
      id,
      routes: routes.map(([provider, priority, weight]) => ({ provider, model: "gpt-4o-mini", priority, weight: weight ?? 1 })),
      price: { input: 1, output: 2 },
    });
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [
          p("fa", A, { first_byte_ms: 400 }),
          p("fb", B),
          p("dead", `http://127.0.0.1:${dead}/v1`),
          p("silent", `https://127.0.0.1:${silent.port}/v1`, { connect_ms: 300 }),
          p("to", B, { first_byte_ms: 400, idle_ms: 400, total_ms: 5000 }),
          p("tot", B, { first_byte_ms: 5000, idle_ms: 5000, total_ms: 700 }),
          p("br", C),
          p("bk", B),
          p("acc", B),
          p("cutter", cutter.baseUrl),
        ],
        models: [
          model("t/fallback", [["fa", 1], ["fb", 2]]),
          model("t/dead", [["dead", 1], ["fb", 2]]),
          model("t/silent", [["silent", 1], ["fb", 2]]),
          model("t/silent-only", [["silent", 1]]),
          model("t/timeout", [["to", 1]]),
          model("t/total", [["tot", 1]]),
          model("t/breaker", [["br", 1], ["bk", 2]]),
          model("t/cut", [["fb", 1]]),
          model("t/accounts", [["acc", 1]]),
          model("t/cutter", [["cutter", 1]]),
        ],
      },
      env: {
        ENCRYPTION_KEY: randomBytes(32).toString("hex"),
        ROUTING_RETRY_BASE_MS: "1",
        ROUTING_RETRY_MAX_MS: "5",
        BREAKER_MIN_REQUESTS: "4",
        BREAKER_FAILURE_PCT: "50",
        BREAKER_COOLDOWN_MS: "400",
        BREAKER_WINDOW_MS: "30000",
        ROUTING_RELOAD_MS: "0",
        RATE_LIMIT_REQUESTS: "0",
      },
    });
    ({ key } = await gw.createAccountWithKey());
  });
  after(async () => {
    await gw?.stop();
    await Promise.all([A?.close(), B?.close(), C?.close(), silent?.close(), cutter?.close()]);
    await db?.drop();
  });

  const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}, k = key) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${k}`, "content-type": "application/json", ...headers },
      body: JSON.stringify({ messages: [{ role: "user", content: "hello there" }], ...body }),
    });
  const row = async (res: Response) => {
    const id = res.headers.get("x-request-id")!;
    for (let i = 0; i < 200; i++) {
      await gw.gateway.deps.logs.flush();
      const [r] = await gw.gateway.deps.db.select().from(requestLogs).where(eq(requestLogs.id, id));
      if (r && r.status !== "pending") return r;
      await sleep(20);
    }
    throw new Error(`no final log row for ${id}`);
  };
  const reset = () => {
    for (const m of [A, B, C]) {
      m.configure(null);
      m.resetStats();
    }
  };

  test("first route 503 → the second answers; the client sees one 200 and which provider served it", async () => {
    reset();
    A.configure({ status: 503 });
    const res = await chat({ model: "t/fallback" });
    assert.equal(res.status, 200);
    const j = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(j.choices[0]!.message.content, "Hello from the mock upstream");
    assert.equal(res.headers.get("x-gateway-provider"), "fb");
    assert.equal(res.headers.get("x-gateway-model"), "gpt-4o-mini");
    assert.equal(A.stats.requests, 1);
    assert.equal(B.stats.requests, 1);
    const r = await row(res);
    assert.equal(r.providerId, "fb");
    assert.equal(r.attempts, 2);
    assert.equal(r.status, "completed");
    assert.deepEqual(
      ((r.meta as { tries: Array<{ providerId: string; outcome: string }> }).tries).map((t) => [t.providerId, t.outcome]),
      [
        ["fa", "server_error"],
        ["fb", "ok"],
      ],
    );
  });

  test("first route 503 on a stream → one 200 stream from the second", async () => {
    reset();
    A.configure({ status: 503 });
    const res = await chat({ model: "t/fallback", stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-gateway-provider"), "fb");
    const frames = sseData(await res.text()) as Array<{ choices?: Array<{ delta?: { content?: string } }>; error?: unknown }>;
    assert.ok(frames.every((f) => !f.error));
    assert.equal(frames.map((f) => f.choices?.[0]?.delta?.content ?? "").join(""), "Hello from the mock upstream");
  });

  test("first route times out before the first byte → the second answers", async () => {
    reset();
    A.configure({ delay_ms: 1500 });
    const res = await chat({ model: "t/fallback" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-gateway-provider"), "fb");
    assert.equal(B.stats.requests, 1);
    assert.equal((await row(res)).attempts, 2);
  });

  test("first route refuses the connection → the second answers", async () => {
    reset();
    const res = await chat({ model: "t/dead" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-gateway-provider"), "fb");
  });

  test("first route never completes the connection (connect timeout) → the second answers", async () => {
    reset();
    const res = await chat({ model: "t/silent" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-gateway-provider"), "fb");
  });

  test("a client error is not retried anywhere and keeps its 4xx", async () => {
    reset();
    A.configure({ status: 422, error_message: "messages[0].content: bad value" });
    const res = await chat({ model: "t/fallback" });
    assert.equal(res.status, 422);
    assert.equal(A.stats.requests, 1);
    assert.equal(B.stats.requests, 0);
    const j = (await res.json()) as { error: { message: string } };
    assert.match(j.error.message, /bad value/);
  });

  test("timeouts: connect → 504; first byte → 504 upstream_timeout; total before the first byte → 504", async () => {
    reset();
    const c = await chat({ model: "t/silent-only" });
    assert.equal(c.status, 504);
    assert.equal(((await c.json()) as { error: { code: string } }).error.code, "upstream_timeout");
    const fb = await chat({ model: "t/timeout", mock: { delay_ms: 1200 } });
    assert.equal(fb.status, 504);
    const fbj = (await fb.json()) as { error: { code: string; timeout?: string } };
    assert.equal(fbj.error.code, "upstream_timeout");
    assert.equal(fbj.error.timeout, "first_byte");
    const tot = await chat({ model: "t/total", mock: { delay_ms: 1500 } });
    assert.equal(tot.status, 504);
    assert.equal(((await tot.json()) as { error: { code: string } }).error.code, "upstream_timeout");
  });

  test("timeouts after the first byte end the stream with an SSE error event (idle, total)", async () => {
    reset();
    for (const [model, mock] of [
      ["t/timeout", { chunks: 5, interval_ms: 1000 }],
      ["t/total", { chunks: 20, interval_ms: 150 }],
    ] as const) {
      const res = await chat({ model, stream: true, mock });
      assert.equal(res.status, 200, model);
      const frames = sseData(await res.text()) as Array<{ choices?: Array<{ delta?: { content?: string } }>; error?: { code: string; type: string } }>;
      const last = frames[frames.length - 1]!;
      assert.equal(last.error?.code, "upstream_timeout", model);
      assert.equal(last.error?.type, "api_error");
      const content = frames.filter((f) => f.choices?.[0]?.delta?.content).length;
      assert.ok(content >= 1 && content < mock.chunks, `${model}: ${content} chunks before the timeout`);
    }
  });

  test("stream cut by the upstream after K chunks → K chunks, then an error event; billed for K", async () => {
    reset();
    const res = await chat({ model: "t/cutter", stream: true });
    assert.equal(res.status, 200);
    const frames = sseData(await res.text()) as Array<{ choices?: Array<{ delta?: { content?: string } }>; error?: { code: string; type: string; message: string } }>;
    const contents = frames.map((f) => f.choices?.[0]?.delta?.content).filter((c): c is string => !!c);
    assert.deepEqual(contents, ["word0 ", "word1 ", "word2 "]);
    const last = frames[frames.length - 1]!;
    assert.ok(last.error, "the last event is an error in OpenAI's shape");
    assert.equal(last.error.type, "api_error");
    assert.equal(cutter.requests, 1, "never retried once bytes went out");
    const r = await row(res);
    assert.equal(r.status, "failed");
    assert.equal(r.completionTokens, countTokens(contents.join("")));
    assert.equal(r.estimated, true);
    assert.ok((r.totalTokens ?? 0) > (r.completionTokens ?? 0), "prompt counted too");
  });

  test("circuit: opens after the failure threshold, skips the upstream, half-opens after the cool-down, closes on success", async () => {
    reset();
    C.configure({ status: 503 });
    for (let i = 0; i < 4; i++) assert.equal((await chat({ model: "t/breaker" })).status, 200);
    assert.equal(C.stats.requests, 4);
    const circuit = async () => {
      const h = (await (await fetch(`${gw.url}/health`)).json()) as { components: { routing: { circuits: Array<{ key: string; state: string }> } } };
      return h.components.routing.circuits.find((x) => x.key === "prv:br")?.state;
    };
    assert.equal(await circuit(), "open");
    // Open: skipped without a call; the backup serves.
    const skipped = await chat({ model: "t/breaker" });
    assert.equal(skipped.status, 200);
    assert.equal(skipped.headers.get("x-gateway-provider"), "bk");
    assert.equal(C.stats.requests, 4);
    assert.deepEqual(((await row(skipped)).meta as { tries: Array<{ outcome: string }> }).tries.map((t) => t.outcome), ["circuit_open", "ok"]);
    // After the cool-down one probe goes through; it fails → open again, the next request skips at once.
    await sleep(450);
    assert.equal((await chat({ model: "t/breaker" })).status, 200);
    assert.equal(C.stats.requests, 5);
    assert.equal(await circuit(), "open");
    await chat({ model: "t/breaker" });
    assert.equal(C.stats.requests, 5);
    // Upstream recovers: the next probe succeeds and closes the circuit.
    C.configure(null);
    await sleep(450);
    const probe = await chat({ model: "t/breaker" });
    assert.equal(probe.headers.get("x-gateway-provider"), "br");
    assert.equal(await circuit(), "closed");
    const admin = (await (await gw.admin("/admin/routing/circuits")).json()) as { data: Array<{ key: string; state: string }> };
    assert.equal(admin.data.find((x) => x.key === "prv:br")?.state, "closed");
  });

  test("response cache: the second identical request is a hit, not sent upstream, billed at the configured fraction (0)", async () => {
    reset();
    const body = { model: "t/cut", temperature: 0.7, messages: [{ role: "user", content: "cache me" }] };
    const first = await chat(body, { "x-gateway-cache": "true" });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-gateway-cache"), "MISS");
    const firstBody = (await first.json()) as { choices: unknown };
    assert.equal(B.stats.requests, 1);
    const second = await chat({ ...body, messages: [{ content: "cache me", role: "user" }] }, { "x-gateway-cache": "true" });
    assert.equal(second.status, 200);
    assert.equal(second.headers.get("x-gateway-cache"), "HIT");
    assert.deepEqual(((await second.json()) as { choices: unknown }).choices, firstBody.choices);
    assert.equal(B.stats.requests, 1, "a hit is not sent upstream");
    const r = await row(second);
    assert.equal(r.cacheHit, true);
    assert.equal(r.priceMicros, 0n);
    assert.equal(r.attempts, 0);
    // Not shared across accounts; never for streams; not without the opt-in.
    const other = await gw.createAccountWithKey({ name: "other" });
    const third = await chat(body, { "x-gateway-cache": "true" }, other.key);
    assert.equal(third.headers.get("x-gateway-cache"), "MISS");
    assert.equal(B.stats.requests, 2);
    const streamed = await chat({ ...body, stream: true }, { "x-gateway-cache": "true" });
    await streamed.text();
    assert.equal(streamed.headers.get("x-gateway-cache"), null);
    assert.equal(B.stats.requests, 3);
    const plain = await chat(body);
    await plain.json();
    assert.equal(plain.headers.get("x-gateway-cache"), null);
    assert.equal(B.stats.requests, 4);
  });

  test("upstream accounts through the admin API: keys sealed and masked, load spread, discount on the log, runtime changes without restart", async () => {
    reset();
    const k1 = `sk-acct-one-${randomBytes(12).toString("hex")}`;
    const k2 = `sk-acct-two-${randomBytes(12).toString("hex")}`;
    const mk = async (apiKey: string, discount: number) => {
      const r = await gw.admin("/admin/routing/upstream-accounts", { body: { provider_id: "acc", name: apiKey.slice(0, 11), api_key: apiKey, discount_percent: discount, balance: "25.50" } });
      assert.equal(r.status, 201, await r.clone().text());
      return (await r.json()) as { id: string; api_key: string; discount_percent: number; balance: string };
    };
    const a1 = await mk(k1, 70);
    const a2 = await mk(k2, 0);
    assert.equal(a1.api_key, `sk-acct-…${k1.slice(-4)}`);
    assert.equal(a1.discount_percent, 70);
    assert.equal(a1.balance, "25.50");
    const list = await (await gw.admin("/admin/routing/upstream-accounts")).text();
    assert.ok(!list.includes(k1) && !list.includes(k2), "keys are never shown");
    const raw = JSON.stringify(await gw.gateway.deps.db.execute(sql`select * from upstream_accounts`));
    assert.ok(!raw.includes(k1) && !raw.includes(k2), "the database never holds a key in plain text");
    const audit = JSON.stringify(await gw.gateway.deps.db.select().from(auditLog).where(eq(auditLog.targetType, "upstream_account")));
    assert.ok(audit.includes("routing.upstream_account.create") && !audit.includes(k1));

    const used = new Map<string, number>();
    const auths = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const res = await chat({ model: "t/accounts" });
      assert.equal(res.status, 200);
      auths.add(String(B.stats.lastHeaders.authorization));
      const r = await row(res);
      used.set(r.upstreamAccountId!, (used.get(r.upstreamAccountId!) ?? 0) + 1);
    }
    assert.deepEqual(new Set(used.keys()), new Set([a1.id, a2.id]), "both accounts serve");
    assert.deepEqual(auths, new Set([`Bearer ${k1}`, `Bearer ${k2}`]), "each account's own key goes upstream");

    // Disable one at runtime: every request now goes to the other, no restart.
    const off = await gw.admin(`/admin/routing/upstream-accounts/${a1.id}`, { method: "PATCH", body: { enabled: false } });
    assert.equal(off.status, 200);
    for (let i = 0; i < 5; i++) {
      const r = await row(await chat({ model: "t/accounts" }));
      assert.equal(r.upstreamAccountId, a2.id);
    }
    assert.equal(B.stats.lastHeaders.authorization, `Bearer ${k2}`);
  });

  test("routes and weights edited at runtime: a route row overrides the config's priority at once", async () => {
    reset();
    const put = await gw.admin("/admin/routing/routes", { method: "PUT", body: { model: "t/fallback", provider_id: "fb", upstream_model: "gpt-4o-mini", priority: 0 } });
    assert.equal(put.status, 200, await put.clone().text());
    const route = (await put.json()) as { id: string };
    const res = await chat({ model: "t/fallback" });
    assert.equal(res.headers.get("x-gateway-provider"), "fb");
    assert.equal(A.stats.requests, 0);
    const eff = (await (await gw.admin("/admin/routing/routes?model=t/fallback")).json()) as { effective: Array<{ provider_id: string; priority: number; source: string }> };
    assert.deepEqual(eff.effective.find((r) => r.provider_id === "fb"), { provider_id: "fb", upstream_model: "gpt-4o-mini", priority: 0, weight: 1, source: "admin" });
    const del = await gw.admin(`/admin/routing/routes/${route.id}`, { method: "DELETE" });
    assert.equal(del.status, 200);
    const back = await chat({ model: "t/fallback" });
    assert.equal(back.headers.get("x-gateway-provider"), "fa");
    const actions = (await gw.gateway.deps.db.select().from(auditLog).where(eq(auditLog.targetType, "model_route"))).map((a) => a.action);
    assert.deepEqual(actions.sort(), ["routing.route.create", "routing.route.delete"]);
  });

  test("client `models` fallback list is used by our router when the requested model's routes all fail", async () => {
    reset();
    C.configure({ status: 500 });
    A.configure({ status: 500 });
    // t/breaker's routes: br (C, failing) and bk (B); make bk fail too via a routing override that disables it.
    const off = await gw.admin("/admin/routing/routes", { method: "PUT", body: { model: "t/breaker", provider_id: "bk", upstream_model: "gpt-4o-mini", enabled: false } });
    assert.equal(off.status, 200);
    const res = await chat({ model: "t/breaker", models: ["t/cut"] });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get("x-gateway-provider"), "fb");
    const r = await row(res);
    assert.equal(r.requestedModel, "t/breaker");
    assert.equal(r.providerId, "fb");
    const id = ((await off.json()) as { id: string }).id;
    await gw.admin(`/admin/routing/routes/${id}`, { method: "DELETE" });
  });
});
