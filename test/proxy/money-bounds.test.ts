import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq, sql } from "drizzle-orm";
import { createTariff } from "../../src/billing/admin.js";
import { accounts, holds, requestLogs } from "../../src/db/schema/index.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { startFakeUpstream, type FakeUpstream } from "./fake-upstream.js";

// Input is free, output costs $10/M × 100 RUB × 1.5 = 1500 micro-RUB per token: a hold is max_tokens × 1500.
const PER_TOKEN = 1500n;
const config = (baseUrl: string) => ({
  providers: [{ id: "f", type: "openai", base_url: baseUrl }],
  models: [
    { id: "t/priced", routes: [{ provider: "f", model: "m" }], price: { input: 0, output: 10 }, max_output: 4096, context_length: 1000 },
    { id: "t/other", routes: [{ provider: "f", model: "m2" }], price: { input: 0, output: 10 } },
  ],
});
const ENV = { RATE_LIMIT_REQUESTS: "1000", RATE_LIMIT_TOKENS: "1000000", USD_RATE: "100", DEFAULT_MARKUP: "1.5", BILLING_CURRENCY: "RUB", BILLING_CACHE_TTL_MS: "0", BILLING_MAX_CHOICES: "8" };

describeEachDb("money bounds of the metered pipeline", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let up: FakeUpstream;

  before(async () => {
    db = await createDb();
    up = await startFakeUpstream();
    gw = await startTestGateway({ database: db, mock: false, config: config(up.baseUrl), env: ENV });
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    await db?.drop();
  });

  const post = (key: string, path: string, body: Record<string, unknown>) =>
    fetch(gw.url + path, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const chat = (key: string, body: Record<string, unknown>) => post(key, "/v1/chat/completions", { model: "t/priced", messages: [{ role: "user", content: "hi" }], ...body });
  const finalRow = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      await gw.gateway.deps.logs.flush();
      const [r] = await gw.gateway.deps.db.select().from(requestLogs).where(eq(requestLogs.id, id));
      if (r && r.status !== "pending") return r;
      await new Promise((x) => setTimeout(x, 20));
    }
    throw new Error(`no final row for ${id}`);
  };
  const balance = async (accountId: string) => (await gw.gateway.deps.db.select().from(accounts).where(eq(accounts.id, accountId)))[0]!;
  const openHolds = async (accountId: string) =>
    (await gw.gateway.deps.db.select({ n: sql<number>`count(*)::int` }).from(holds).where(and(eq(holds.accountId, accountId), eq(holds.status, "open"))))[0]!.n;
  const allHolds = async (accountId: string) => (await gw.gateway.deps.db.select({ n: sql<number>`count(*)::int` }).from(holds).where(eq(holds.accountId, accountId)))[0]!.n;
  const sse = async (res: Response) => {
    const text = await res.text();
    return { text, words: (text.match(/ word/g) ?? []).length, error: /"error":\{[^}]*"code":"([a-z_]+)"/.exec(text)?.[1] ?? null };
  };

  test("n and best_of: held for every choice, bounded by BILLING_MAX_CHOICES, 400 when invalid", async () => {
    // 0.15 RUB covers 100 output tokens: n=2 × 50 fits, n=3 × 50 does not.
    const { accountId, key } = await gw.createAccountWithKey({ balance: "0.15" });
    const two = await chat(key, { n: 2, max_tokens: 50 });
    assert.equal(two.status, 200, await two.clone().text());
    await two.json();
    const [h] = await gw.gateway.deps.db.select().from(holds).where(eq(holds.requestId, two.headers.get("x-request-id")!));
    assert.equal(h!.amountMicros, 100n * PER_TOKEN, "the hold covers both choices");
    const three = await chat(key, { n: 3, max_tokens: 50 });
    assert.equal(three.status, 402);
    for (const [body, param] of [
      [{ n: -1 }, "n"],
      [{ n: 0 }, "n"],
      [{ n: 1000000 }, "n"],
      [{ n: 9 }, "n"],
      [{ n: 1.5 }, "n"],
      [{ n: "2" }, "n"],
      [{ n: 2, best_of: 1 }, "best_of"],
    ] as const) {
      const r = await chat(key, { max_tokens: 5, ...body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(((await r.json()) as { error: { param: string } }).error.param, param);
    }
    // best_of completions are all generated (and billed) upstream: 8 × 20 tokens is more than the balance covers.
    const bestOf = await post(key, "/v1/completions", { model: "t/priced", prompt: "hi", max_tokens: 20, best_of: 8 });
    assert.equal(bestOf.status, 402);
    assert.equal(await openHolds(accountId), 0);
  });

  test("output cap: none written when the client sent none and the hold covers the model's max; the model's max when the client asked for more; the affordable cap on a short non-stream balance", async () => {
    const capOf = () => {
      const b = up.lastBody as { max_tokens?: number; max_completion_tokens?: number };
      return b.max_tokens ?? b.max_completion_tokens ?? null;
    };
    // 4096 tokens × 1500 = 6.144 RUB: a 10 RUB balance covers the model's whole max output.
    const rich = await gw.createAccountWithKey({ balance: "10" });
    for (const stream of [false, true]) {
      const r = await chat(rich.key, { stream });
      assert.equal(r.status, 200, await r.clone().text());
      await r.text();
      assert.equal(capOf(), null, `stream=${stream}: no cap the client did not ask for`);
      assert.equal(r.headers.get("x-gateway-max-tokens"), null);
      const [h] = await gw.gateway.deps.db.select().from(holds).where(eq(holds.requestId, r.headers.get("x-request-id")!));
      assert.equal(h!.amountMicros, 4096n * PER_TOKEN, "the hold covers the model's max output");
    }
    // Above the model's max output: the model's max goes upstream (OpenAI answers 400 to more).
    const above = await chat(rich.key, { max_tokens: 100_000 });
    assert.equal(above.status, 200);
    await above.json();
    assert.equal(capOf(), 4096);
    assert.equal(above.headers.get("x-gateway-max-tokens"), "4096");
    // Within it: the client's own cap, untouched.
    await (await chat(rich.key, { max_tokens: 77 })).json();
    assert.equal(capOf(), 77);
    // A balance short of the model's max: a non-stream answer is capped at what it covers (the
    // gateway can't cut a JSON answer half way), a stream is not (the meter cuts it).
    const poor = await gw.createAccountWithKey({ balance: "0.15" });
    const short = await chat(poor.key, {});
    assert.equal(short.status, 200);
    await short.json();
    assert.equal(capOf(), 100);
    assert.equal(short.headers.get("x-gateway-max-tokens"), "100");
  });

  test("a stream is metered against its hold: an upstream that ignores max_tokens is cut with an error event and billed what was delivered", async () => {
    // 0.015 RUB covers 10 output tokens; the client sent no cap and none is written upstream (the
    // gateway enforces the hold on a stream), and the upstream sends 100,000.
    const { accountId, key } = await gw.createAccountWithKey({ balance: "0.015" });
    const res = await chat(key, { stream: true, fake: { stream_tokens: 100_000 } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-gateway-max-tokens"), null);
    assert.equal((up.lastBody as { max_tokens?: number }).max_tokens, undefined);
    const s = await sse(res);
    assert.equal(s.error, "insufficient_quota", "the stream ends with the error event");
    assert.ok(s.words >= 10 && s.words <= 20, `delivered ${s.words} chunks for a 10-token hold`);
    const row = await finalRow(res.headers.get("x-request-id")!);
    assert.equal(row.status, "failed");
    assert.ok(row.completionTokens !== null && row.completionTokens <= 10, `billed ${row.completionTokens} tokens`);
    assert.ok(row.priceMicros !== null && row.priceMicros <= 10n * PER_TOKEN && row.priceMicros > 0n);
    const a = await balance(accountId);
    assert.ok(a.balanceMicros >= 0n, "never below zero");
    assert.equal(a.reservedMicros, 0n);
    assert.equal(await openHolds(accountId), 0);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(up.written.at(-1)! < 100_000, `the upstream read stopped (${up.written.at(-1)} chunks written)`);
  });

  test("lying usage: never charged above the hold, flagged on the row, counted, visible to the admin, not fed to the limiter", async () => {
    const { accountId, key, keyId } = await gw.createAccountWithKey({ balance: "100" });
    const res = await chat(key, { max_tokens: 10, fake: { usage: { prompt_tokens: 1e15, completion_tokens: 1e15, total_tokens: 2e15 } } });
    assert.equal(res.status, 200);
    await res.json();
    const row = await finalRow(res.headers.get("x-request-id")!);
    assert.ok(row.priceMicros !== null && row.priceMicros <= 10n * PER_TOKEN, `charged ${row.priceMicros}`);
    assert.equal(row.usageAnomaly, "prompt_above_request");
    assert.equal(row.completionTokens, 10);
    // A leased charge reaches the balance with the next batch (flush: now).
    await gw.gateway.deps.billing.flush();
    assert.equal((await balance(accountId)).balanceMicros, 100_000_000n - row.priceMicros!);
    const listed = await gw.admin(`/admin/logs?account_id=${accountId}&usage_anomaly=true`);
    const page = (await listed.json()) as { data: Array<{ id: string; usage_anomaly: string }> };
    assert.deepEqual(page.data.map((r) => [r.id, r.usage_anomaly]), [[row.id, "prompt_above_request"]]);
    const rl = (await (await fetch(`${gw.url}/rate-limit`, { headers: { authorization: `Bearer ${key}` } })).json()) as { tokens: { current: number } };
    assert.ok(rl.tokens.current <= 1010, `the limiter counted ${rl.tokens.current} tokens (context 1000 + max_tokens 10 at most)`);
    assert.ok(keyId);
    // Negative counts are flagged too, and charge nothing.
    const neg = await chat(key, { max_tokens: 10, fake: { usage: { prompt_tokens: -5, completion_tokens: -5 } } });
    await neg.json();
    assert.equal((await finalRow(neg.headers.get("x-request-id")!)).usageAnomaly, "negative");
  });

  test("usage {0, 0} for a stream that delivered 50 tokens is billed for the 50", async () => {
    const { key } = await gw.createAccountWithKey({ balance: "100" });
    const res = await chat(key, { stream: true, max_tokens: 100, fake: { stream_tokens: 50, usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } } });
    const s = await sse(res);
    assert.equal(s.words, 50);
    const row = await finalRow(res.headers.get("x-request-id")!);
    assert.equal(row.completionTokens, 50);
    assert.equal(row.priceMicros, 50n * PER_TOKEN);
    assert.equal(row.usageAnomaly, "prompt_below_request");
  });

  test("a pass-through stream cut before its usage event is billed from what was delivered", async () => {
    const { accountId, key } = await gw.createAccountWithKey({ balance: "100" });
    // /v1/responses is translated to chat now; a forwarded path still relays the upstream's stream as it is.
    const res = await post(key, "/api/v1/openrouter/images/generations", { model: "t/priced", prompt: "hi", stream: true, fake: { responses_cut: 30 } });
    assert.equal(res.status, 200);
    await res.text().catch(() => "");
    const row = await finalRow(res.headers.get("x-request-id")!);
    assert.equal(row.completionTokens, 30);
    assert.equal(row.priceMicros, 30n * PER_TOKEN);
    assert.equal(await openHolds(accountId), 0);
  });

  test("model names that can't be ids: 400 before any hold, header or upstream call; streams leave nothing open", async () => {
    const { accountId, key } = await gw.createAccountWithKey({ balance: "100" });
    for (const model of ["gpt-4\u043e-mini", "a\r\nx-evil: 1", "a\u0000b", "模型", "a b", "x".repeat(300)]) {
      for (const stream of [false, true]) {
        const r = await chat(key, { model, stream });
        assert.equal(r.status, 400, JSON.stringify(model));
        const e = (await r.json()) as { error: { code: string; param: string } };
        assert.deepEqual([e.error.code, e.error.param], ["invalid_request", "model"]);
      }
    }
    const pass = await post(key, "/v1/responses", { model: "gpt-4\u043e", input: "hi" });
    assert.equal(pass.status, 400);
    assert.equal(await allHolds(accountId), 0, "nothing was held");
    assert.equal(gw.gateway.deps.inflight.count, 0);
  });

  test("/api/v1/openrouter/* forwards only inference and public catalogue paths", async () => {
    const { key } = await gw.createAccountWithKey({ balance: "100" });
    const call = (method: string, path: string) =>
      fetch(`${gw.url}/api/v1/openrouter/${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: method === "GET" ? undefined : "{}" });
    // `../keys` normalizes to /api/v1/keys: not a gateway route (`../credits` is the gateway's own /api/v1/credits now).
    for (const [method, path] of [["GET", "credits"], ["GET", "key"], ["GET", "keys"], ["POST", "keys"], ["DELETE", "keys/abc"], ["GET", "generation?id=x"], ["PATCH", "chat/completions"], ["GET", "chat/completions"], ["POST", "models"], ["GET", "../keys"]] as const) {
      const r = await call(method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
    }
    const ok = await post(key, "/api/v1/openrouter/chat/completions", { model: "t/priced", messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
    assert.equal(ok.status, 200);
  });

  test("a model the tariff refuses leaves the rate-limit counters untouched", async () => {
    const t = await createTariff(gw.gateway.deps.db, { name: "other only", markupPpm: 1_000_000n, allowedModels: ["t/other"] }, "admin:test");
    const acct = await gw.admin("/admin/accounts", { body: { name: "tariffed", initial_balance: "10", tariff_id: t.id } });
    const { id: accountId } = (await acct.json()) as { id: string };
    const k = await gw.admin("/v1/key/generate", { body: { account_id: accountId, name: "k" } });
    const { key } = (await k.json()) as { key: string };
    for (let i = 0; i < 3; i++) {
      const r = await chat(key, { max_tokens: 5 });
      assert.equal(r.status, 403);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, "model_not_allowed");
    }
    const rl = (await (await fetch(`${gw.url}/rate-limit`, { headers: { authorization: `Bearer ${key}` } })).json()) as { current_count: number; tokens: { current: number } };
    assert.equal(rl.current_count, 0);
    assert.equal(rl.tokens.current, 0);
  });
});
