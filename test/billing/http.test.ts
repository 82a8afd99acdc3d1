/**
 * Billing through the real gateway (HTTP, the proxy pipeline, the mock upstream): concurrency
 * against a small balance (one process and two processes on one PostgreSQL), a stream cut by the
 * client, the client endpoints and their account isolation.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { and, eq, sql } from "drizzle-orm";
import { formatMoney } from "../../src/core/money.js";
import { countTokens } from "../../src/proxy/o200k-count.js";
import type { Db } from "../../src/db/client.js";
import { accounts, holds, ledgerEntries, requestLogs } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { ADMIN_TOKEN, spawnGateway, startTestGateway, type GatewayProcess, type TestGateway } from "../helpers/gateway.js";

// Prompt tokens are free here so a hold depends only on max_tokens: $10/M out × 100 RUB × 1.5 = 1500 micro-RUB per token.
const gatewayConfig = (mockBaseUrl: string) => ({
  providers: [{ id: "mock", type: "openai", base_url: mockBaseUrl }],
  models: [
    { id: "t/out-only", routes: [{ provider: "mock", model: "gpt-4o" }], price: { input: 0, output: 10 }, max_output: 4096 },
    { id: "t/mini", routes: [{ provider: "mock", model: "gpt-4o-mini" }], price: { input: 0.15, output: 0.6 }, max_output: 16384 },
  ],
});
const BILLING_ENV = { RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0", USD_RATE: "100", DEFAULT_MARKUP: "1.5", BILLING_CURRENCY: "RUB", BILLING_CACHE_TTL_MS: "0" };

async function until<T>(f: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function invariants(db: Db, accountId: string) {
  const [a] = await db.select().from(accounts).where(eq(accounts.id, accountId));
  const [l] = await db.select({ s: sql<string>`coalesce(sum(${ledgerEntries.amountMicros}), 0)::text` }).from(ledgerEntries).where(eq(ledgerEntries.accountId, accountId));
  const [o] = await db.select({ n: sql<number>`count(*)::int` }).from(holds).where(and(eq(holds.accountId, accountId), eq(holds.status, "open")));
  return { balance: a!.balanceMicros, reserved: a!.reservedMicros, drift: a!.balanceMicros - BigInt(l!.s), openHolds: o!.n };
}

function chat(url: string, key: string, body: Record<string, unknown>) {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...body }),
  });
}

async function fire200(urls: string[], key: string) {
  const statuses = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const r = await chat(urls[i % urls.length]!, key, { model: "t/out-only", max_tokens: 100, mock: { usage: { prompt_tokens: 5, completion_tokens: 100 } } });
      const body = (await r.json()) as { error?: { code?: string; limit_source?: string }; usage?: { cost?: number } };
      return { status: r.status, body };
    }),
  );
  return statuses;
}

describeEachDb("billing through the gateway", (kind, create) => {
  let d: TestDatabase;
  let mock: OpenAIUpstream;
  let gw: TestGateway;
  before(async () => {
    d = await create();
    mock = await startOpenAIUpstream();
    gw = await startTestGateway({ database: d, config: gatewayConfig(mock.baseUrl), env: BILLING_ENV });
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await d?.drop();
  });

  test("200 concurrent requests on a balance that covers 10: 10 served, 190 × 402, no overspend, ledger = balance", async () => {
    const { accountId, key } = await gw.createAccountWithKey({ balance: "1.50" });
    mock.resetStats();
    const res = await fire200([gw.url], key);
    const ok = res.filter((r) => r.status === 200);
    const refused = res.filter((r) => r.status === 402);
    assert.equal(ok.length + refused.length, 200, `unexpected statuses: ${[...new Set(res.map((r) => r.status))]}`);
    assert.ok(ok.length <= 10);
    assert.equal(ok.length, 10, "the balance covers exactly 10 holds and each charge equals its hold");
    for (const r of refused) {
      assert.equal(r.body.error?.code, "insufficient_quota");
      assert.equal(r.body.error?.limit_source, "balance");
    }
    for (const r of ok) assert.equal(r.body.usage?.cost, 0.15);
    assert.equal(mock.stats.requests, ok.length, "refused requests never reached the upstream");
    const inv = await invariants(gw.gateway.deps.db, accountId);
    assert.deepEqual(inv, { balance: 0n, reserved: 0n, drift: 0n, openHolds: 0 });
    console.log(`# [${kind}] HTTP A1: tried 200, succeeded ${ok.length}, 402 ${refused.length}, upstream calls ${mock.stats.requests}, overspend 0, ledger drift ${inv.drift}`);
  });

  test("without max_tokens the gateway sets one the hold covers and says so in x-gateway-max-tokens", async () => {
    const { key } = await gw.createAccountWithKey({ balance: "0.30" });
    mock.resetStats();
    const r = await chat(gw.url, key, { model: "t/out-only", mock: { usage: { prompt_tokens: 5, completion_tokens: 50 } } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("x-gateway-max-tokens"), "200"); // 0.30 RUB / 0.0015
    assert.equal((mock.stats.lastBody as { max_tokens?: number }).max_tokens, 200);
    const j = (await r.json()) as { usage: { cost: number } };
    assert.equal(j.usage.cost, 0.075);
  });

  test("a stream cut by the client after K chunks is billed for what was produced: not zero, not the maximum", async () => {
    const { accountId, key } = await gw.createAccountWithKey({ balance: "10" });
    const K = 20;
    const controller = new AbortController();
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "t/out-only", stream: true, max_tokens: 1000, messages: [{ role: "user", content: "long story" }], mock: { chunks: 200, interval_ms: 15 } }),
      signal: controller.signal,
    });
    const requestId = r.headers.get("x-request-id")!;
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    let buf = "";
    let content = "";
    let chunks = 0;
    while (chunks < K) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = frame.replace(/^data: /, "");
        if (data === "[DONE]") continue;
        const delta = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content;
        if (delta) {
          content += delta;
          chunks++;
        }
      }
    }
    controller.abort();
    const db = gw.gateway.deps.db;
    const log = await until(async () => (await db.select().from(requestLogs).where(and(eq(requestLogs.id, requestId), sql`${requestLogs.status} <> 'pending'`)))[0]);
    const entry = await until(async () => (await db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, requestId))))[0]);
    const seen = countTokens(content);
    const billed = log.completionTokens!;
    assert.equal(log.status, "cancelled");
    assert.ok(billed >= seen, `billed ${billed} < ${seen} tokens the client received`);
    assert.ok(billed <= seen + 10, `billed ${billed}, the client got ${seen}: at most a few chunks in flight`);
    assert.ok(billed < 150, "far from the 200-chunk answer and the 1000-token hold");
    assert.equal(entry.amountMicros, -BigInt(billed) * 1500n, "the charge prices exactly the billed tokens");
    assert.equal(log.priceMicros, BigInt(billed) * 1500n);
    // A balance lease the stream was admitted on is part of reserved until it is given back (flush: at once).
    await gw.gateway.deps.billing.flush();
    const inv = await invariants(db, accountId);
    assert.deepEqual({ reserved: inv.reserved, drift: inv.drift, openHolds: inv.openHolds }, { reserved: 0n, drift: 0n, openHolds: 0 });
    console.log(`# [${kind}] stream cut after ${K} chunks: client saw ${seen} tokens, billed ${billed} completion tokens (hold was 1000)`);
  });

  test("client endpoints: happy paths, and another account's data is never visible", async () => {
    const a = await gw.createAccountWithKey({ name: "A", balance: "50", key: { limits: { daily_tokens: 100000, total_money: "20" } } });
    const b = await gw.createAccountWithKey({ name: "B", balance: "7" });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw.url, a.key, { model: "t/mini", max_tokens: 500, messages: [{ role: "user", content: "x".repeat(1000) }], mock: { usage: { prompt_tokens: 1000, completion_tokens: 500 } } });
      assert.equal(r.status, 200);
      ids.push(r.headers.get("x-request-id")!);
      await r.body?.cancel();
    }
    const db = gw.gateway.deps.db;
    await until(async () => (await db.select({ n: sql<number>`count(*)::int` }).from(requestLogs).where(and(eq(requestLogs.accountId, a.accountId), sql`${requestLogs.priceMicros} is not null`)))[0]!.n === 3);
    const get = async (key: string, path: string) => {
      const r = await fetch(gw.url + path, { headers: { authorization: `Bearer ${key}` } });
      return { status: r.status, body: (await r.json()) as any };
    };
    // 1000 × 0.15 + 500 × 0.6 = 0.00045 $ → 0.0675 RUB each
    const bal = await get(a.key, "/v1/client/balance");
    assert.deepEqual(bal, { status: 200, body: { balance: "49.7975", currency: "RUB", reserved: "0.00", available: "49.7975" } });
    assert.deepEqual((await get(b.key, "/v1/client/balance")).body, { balance: "7.00", currency: "RUB", reserved: "0.00", available: "7.00" });

    const usage = await get(a.key, "/v1/client/usage");
    assert.equal(usage.status, 200);
    assert.deepEqual(usage.body.today, { requests: 3, prompt_tokens: 3000, completion_tokens: 1500, total_tokens: 4500, cost: "0.2025" });
    assert.deepEqual(usage.body.total, usage.body.today);
    assert.equal(usage.body.tariff.name, "default");
    assert.deepEqual((await get(a.key, "/usage")).body, usage.body, "/usage is an alias");
    const bu = await get(b.key, "/v1/client/usage");
    assert.deepEqual(bu.body.total, { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost: "0.00" });

    const daily = await get(a.key, "/v1/client/usage/daily?days=7");
    assert.equal(daily.body.data.length, 1);
    assert.equal(daily.body.data[0].cost, "0.2025");
    assert.deepEqual((await get(b.key, "/v1/client/usage/daily")).body.data, []);
    const models = await get(a.key, "/v1/client/models/usage");
    assert.deepEqual(models.body.data.map((m: any) => [m.model, m.requests, m.cost]), [["t/mini", 3, "0.2025"]]);
    assert.deepEqual((await get(b.key, "/v1/client/models/usage")).body.data, []);
    assert.equal((await get(a.key, "/v1/client/usage/daily?days=0")).status, 400);

    const p1 = await get(a.key, "/v1/client/recent-requests?limit=2");
    assert.equal(p1.body.data.length, 2);
    assert.ok(p1.body.next_cursor);
    const p2 = await get(a.key, `/v1/client/recent-requests?limit=2&cursor=${p1.body.next_cursor}`);
    assert.equal(p2.body.data.length, 1);
    assert.equal(p2.body.next_cursor, null);
    assert.deepEqual([...p1.body.data, ...p2.body.data].map((x: any) => x.id).sort(), [...ids].sort());
    assert.equal(p1.body.data[0].cost, "0.0675");
    assert.deepEqual((await get(b.key, "/v1/client/recent-requests")).body, { data: [], next_cursor: null });

    const gen = await get(a.key, `/v1/generation?id=${ids[0]}`);
    assert.equal(gen.status, 200);
    // OpenRouter's shape: a number; the exact decimal is in `cost`.
    assert.equal(gen.body.data.total_cost, 0.0675);
    assert.equal(gen.body.data.cost, "0.0675");
    assert.equal(gen.body.data.tokens_prompt, 1000);
    assert.equal(gen.body.data.provider_name, "mock");
    assert.equal((await get(b.key, `/v1/generation?id=${ids[0]}`)).status, 404, "B can't read A's request");

    const key = await get(a.key, "/v1/key");
    // OpenRouter's /key shape: money as numbers.
    assert.equal(key.body.data.usage, 0.2025);
    assert.equal(key.body.data.limit, 20);
    assert.equal(key.body.data.limit_remaining, 19.7975);
    assert.equal(key.body.data.limits.daily.tokens.used, 4500);
    assert.equal((await get(b.key, "/v1/key")).body.data.usage, 0);

    const limits = await get(a.key, "/limits");
    assert.equal(limits.body.key.daily.tokens.limit, 100000);
    assert.equal(limits.body.key.daily.tokens.remaining, 95500);
    assert.equal(limits.body.key.total.money.used, "0.2025");
    assert.equal(limits.body.account.daily, null);
    const tariff = await get(a.key, "/tariff");
    assert.equal(tariff.body.tariff.name, "default");
    assert.equal(tariff.body.tariff.max_tokens, null);
    assert.match(tariff.body.tariff.api_key, /^sk-gw-.{4}…$/);

    for (const p of ["/v1/client/balance", "/v1/client/usage", "/usage", "/limits", "/tariff", "/v1/key", `/v1/generation?id=${ids[0]}`, "/v1/client/recent-requests"]) {
      const r = await fetch(gw.url + p);
      assert.equal(r.status, 401, p);
      await r.body?.cancel();
    }
  });

  test("a customer's balance counts the unused part of an open balance lease as available (the account row counts it as reserved)", async () => {
    const { key, accountId } = await gw.createAccountWithKey({ balance: "10" });
    const r = await chat(gw.url, key, { model: "t/mini", max_tokens: 500, mock: { usage: { prompt_tokens: 1000, completion_tokens: 500 } } });
    assert.equal(r.status, 200);
    const requestId = r.headers.get("x-request-id")!;
    await r.body?.cancel();
    const db = gw.gateway.deps.db;
    const charge = await until(async () => (await db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, requestId))))[0]);
    const [row] = await db.select().from(accounts).where(eq(accounts.id, accountId));
    assert.ok(row!.reservedMicros > 0n, "the request was admitted on a lease, which stays open after it");
    const bal = (await (await fetch(gw.url + "/v1/client/balance", { headers: { authorization: `Bearer ${key}` } })).json()) as Record<string, string>;
    const balance = formatMoney(10_000_000n + charge.amountMicros);
    assert.deepEqual(bal, { balance, currency: "RUB", reserved: "0.00", available: balance });
  });

  test("the final stream usage chunk carries usage.cost", async () => {
    const { key } = await gw.createAccountWithKey({ balance: "5" });
    const r = await chat(gw.url, key, { model: "t/mini", stream: true, stream_options: { include_usage: true }, max_tokens: 100, mock: { chunks: 3, usage: { prompt_tokens: 1000, completion_tokens: 500 } } });
    const text = await r.text();
    const usageFrame = text
      .split("\n\n")
      .map((f) => f.replace(/^data: /, ""))
      .filter((f) => f.startsWith("{"))
      .map((f) => JSON.parse(f) as { usage?: { cost?: number } })
      .find((f) => f.usage);
    assert.equal(usageFrame?.usage?.cost, 0.0675);
  });
});

describe("billing with two gateway processes on one PostgreSQL", async () => {
  const { postgresAvailable, createPostgresDb, IN_CI } = await import("../helpers/db.js");
  if (!(await postgresAvailable())) {
    if (IN_CI) throw new Error("PostgreSQL is required in CI");
    console.log("# SKIPPED two-process billing test: PostgreSQL not reachable");
    return;
  }
  let d: TestDatabase;
  let mock: OpenAIUpstream;
  const procs: GatewayProcess[] = [];
  before(async () => {
    d = await createPostgresDb();
    mock = await startOpenAIUpstream();
    const dir = mkdtempSync(join(tmpdir(), "gw-billing-"));
    const cfg = join(dir, "gateway.json");
    writeFileSync(cfg, JSON.stringify(gatewayConfig(mock.baseUrl)));
    const env = { ...BILLING_ENV, DATABASE_URL: d.url!, GATEWAY_CONFIG: cfg, LOG_LEVEL: "warn", BILLING_CACHE_TTL_MS: "5000" };
    procs.push(...(await Promise.all([spawnGateway({ ...env, DATA_DIR: join(dir, "a") }), spawnGateway({ ...env, DATA_DIR: join(dir, "b") })])));
  });
  after(async () => {
    for (const p of procs) await p.stop();
    await mock?.close();
    await d?.drop();
  });

  test("200 concurrent requests split over two processes: at most 10 served, no overspend, ledger = balance", async () => {
    const [a, b] = procs as [GatewayProcess, GatewayProcess];
    const admin = (path: string, body: unknown) =>
      fetch(a.url + path, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then(
        (r) => r.json() as Promise<Record<string, string>>,
      );
    const acct = await admin("/admin/accounts", { name: "two procs", initial_balance: "1.50" });
    const { key } = await admin("/v1/key/generate", { account_id: acct.id, name: "k" });
    mock.resetStats();
    const res = await fire200([a.url, b.url], key!);
    const ok = res.filter((r) => r.status === 200).length;
    const refused = res.filter((r) => r.status === 402).length;
    assert.equal(ok + refused, 200, `unexpected statuses: ${[...new Set(res.map((r) => r.status))]}`);
    assert.equal(ok, 10);
    assert.equal(mock.stats.requests, ok);
    const inv = await invariants(d.db, acct.id!);
    assert.deepEqual(inv, { balance: 0n, reserved: 0n, drift: 0n, openHolds: 0 });
    console.log(`# [postgres, 2 processes] HTTP A1: tried 200, succeeded ${ok}, 402 ${refused}, upstream calls ${mock.stats.requests}, overspend 0, ledger drift ${inv.drift}`);
  });
});
