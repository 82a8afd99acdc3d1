import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import { ConfigError } from "../../src/config/env.js";
import { requestLogs } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { createPgliteDb, describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";

async function finalRow(gw: TestGateway, res: Response) {
  const id = res.headers.get("x-request-id")!;
  for (let i = 0; i < 200; i++) {
    await gw.gateway.deps.logs.flush();
    const [r] = await gw.gateway.deps.db.select().from(requestLogs).where(eq(requestLogs.id, id));
    if (r && r.status !== "pending") return r;
    await new Promise((x) => setTimeout(x, 20));
  }
  throw new Error("no final row");
}

describeEachDb("ENCRYPTION_KEY at start-up", (_kind, createDb) => {
  let db: TestDatabase;
  before(async () => {
    db = await createDb();
  });
  after(async () => {
    await db?.drop();
  });

  test("a wrong or missing key stops start-up with a clear error once upstream keys are stored; the right one starts", async () => {
    const K = randomBytes(32).toString("hex");
    const gw = await startTestGateway({ database: db, env: { ENCRYPTION_KEY: K } });
    const r = await gw.admin("/admin/routing/upstream-accounts", { body: { provider_id: "upstream", api_key: "sk-master-0123456789abcdef", discount_percent: 70 } });
    assert.equal(r.status, 201);
    await gw.stop();
    // mock: false — the helper would leave its own mock running when start-up fails (demo mode's in-process mock is closed by startGateway).
    await assert.rejects(
      startTestGateway({ database: db, mock: false, env: { ENCRYPTION_KEY: randomBytes(32).toString("hex") } }),
      (e: unknown) => e instanceof ConfigError && /ENCRYPTION_KEY does not match/.test(e.message) && /key id/.test(e.message),
    );
    await assert.rejects(startTestGateway({ database: db, mock: false }), (e: unknown) => e instanceof ConfigError && /ENCRYPTION_KEY is not set/.test(e.message));
    const again = await startTestGateway({ database: db, env: { ENCRYPTION_KEY: K } });
    const { key } = await again.createAccountWithKey();
    const res = await fetch(`${again.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(again.mock!.stats.lastHeaders.authorization, "Bearer sk-master-0123456789abcdef", "the decrypted master key goes upstream");
    await again.stop();
  });
});

describeEachDb("response cache billed at a fraction; upstream discount on the cost", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;
  let mock: OpenAIUpstream;
  before(async () => {
    db = await createDb();
    mock = await startOpenAIUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [{ id: "m", type: "openai", base_url: mock.baseUrl }],
        models: [{ id: "t/priced", routes: [{ provider: "m", model: "gpt-4o-mini" }], price: { input: 10, output: 30 } }],
      },
      env: { RESPONSE_CACHE_HIT_PRICE: "0.5", RATE_LIMIT_REQUESTS: "0", ENCRYPTION_KEY: randomBytes(32).toString("hex") },
    });
    ({ key } = await gw.createAccountWithKey({ balance: "1000.00" }));
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await db?.drop();
  });
  const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "t/priced", messages: [{ role: "user", content: "a question worth caching" }], ...body }),
    });

  test("a hit costs the configured fraction of the miss; its upstream cost is zero", async () => {
    const before = mock.stats.requests;
    const miss = await chat({ temperature: 0 }, { "x-gateway-cache": "true" });
    assert.equal(miss.headers.get("x-gateway-cache"), "MISS");
    await miss.json();
    const hit = await chat({ temperature: 0 }, { "x-gateway-cache": "true" });
    assert.equal(hit.headers.get("x-gateway-cache"), "HIT");
    const hitBody = (await hit.json()) as { usage: { cost: number } };
    assert.equal(mock.stats.requests, before + 1);
    const m = await finalRow(gw, miss);
    const h = await finalRow(gw, hit);
    assert.ok(m.priceMicros !== null && m.priceMicros > 0n, "the miss is billed");
    assert.ok(h.priceMicros !== null && h.priceMicros > 0n, "the hit is billed");
    const ratio = Number(h.priceMicros) / Number(m.priceMicros);
    assert.ok(ratio > 0.45 && ratio < 0.6, `hit/miss price ratio ${ratio}`);
    assert.equal(h.upstreamCostMicros, 0n);
    assert.equal(h.cacheHit, true);
    assert.ok(hitBody.usage.cost > 0, "usage.cost shows the hit's own price");
  });

  test("an upstream account's discount lowers the recorded upstream cost, not the client's price", async () => {
    const mk = async (discount: number) =>
      (await (await gw.admin("/admin/routing/upstream-accounts", { body: { provider_id: "m", api_key: `sk-disc-${discount}-${randomBytes(8).toString("hex")}`, discount_percent: discount } })).json()) as { id: string };
    const full = await mk(0);
    const cheap = await mk(70);
    const rows = new Map<string, { cost: bigint; price: bigint }>();
    for (let i = 0; i < 30 && rows.size < 2; i++) {
      const r = await finalRow(gw, await chat({}));
      rows.set(r.upstreamAccountId!, { cost: r.upstreamCostMicros!, price: r.priceMicros! });
    }
    const a = rows.get(full.id)!;
    const b = rows.get(cheap.id)!;
    assert.ok(a && b, "both accounts served");
    assert.equal(a.price, b.price, "the client pays the same");
    assert.ok(a.cost > 0n);
    const r = Number(b.cost) / Number(a.cost);
    assert.ok(r > 0.28 && r < 0.32, `discounted cost ratio ${r} (expected 0.30)`);
  });
});

describe("two gateway processes share circuit state through Redis", async () => {
  if (!(await requireRedis("routing: shared breakers"))) return;
  let db: TestDatabase;
  let g1: TestGateway;
  let g2: TestGateway;
  let bad: OpenAIUpstream;
  let good: OpenAIUpstream;
  before(async () => {
    db = await createPgliteDb();
    [bad, good] = await Promise.all([startOpenAIUpstream({ behaviour: { status: 503 } }), startOpenAIUpstream()]);
    const prefix = `test:rt:${randomBytes(6).toString("hex")}:`;
    const opts = {
      database: db,
      mock: false,
      config: {
        providers: [
          { id: "bad", type: "openai", base_url: bad.baseUrl },
          { id: "good", type: "openai", base_url: good.baseUrl },
        ],
        models: [{ id: "t/m", routes: [{ provider: "bad", priority: 1 }, { provider: "good", priority: 2 }] }],
      },
      env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, BREAKER_MIN_REQUESTS: "3", BREAKER_COOLDOWN_MS: "60000", RATE_LIMIT_REQUESTS: "0" },
    };
    g1 = await startTestGateway(opts);
    g2 = await startTestGateway(opts);
  });
  after(async () => {
    await g1?.stop();
    await g2?.stop();
    await Promise.all([bad?.close(), good?.close()]);
    await db?.drop();
  });

  test("the circuit one gateway opened is skipped by the other", async () => {
    const { key } = await g1.createAccountWithKey();
    const call = (g: TestGateway) =>
      fetch(`${g.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "t/m", messages: [{ role: "user", content: "x" }] }),
      });
    // Wait for both processes to reach Redis.
    for (let i = 0; i < 100 && !(g1.gateway.deps.routing!.breakers as { redisHealthy?: boolean }).redisHealthy; i++) await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 3; i++) assert.equal((await call(g1)).status, 200);
    assert.equal(bad.stats.requests, 3);
    // g2 has never called "bad"; its first plan sees the key, the sync (or acquire) reads Redis.
    await (g2.gateway.deps.routing!.breakers as unknown as { sync(): Promise<void>; peek(k: string): unknown }).peek("prv:bad");
    await (g2.gateway.deps.routing!.breakers as unknown as { sync(): Promise<void> }).sync();
    const res = await call(g2);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-gateway-provider"), "good");
    assert.equal(bad.stats.requests, 3, "the other process skipped the open circuit");
    const h = (await (await fetch(`${g2.url}/health`)).json()) as { components: { routing: { circuits: Array<{ key: string; state: string; source: string }> } } };
    const c = h.components.routing.circuits.find((x) => x.key === "prv:bad");
    assert.deepEqual([c?.state, c?.source], ["open", "redis"]);
  });
});
