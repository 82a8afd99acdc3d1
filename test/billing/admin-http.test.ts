import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import { auditLog, requestLogs } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { createPgliteDb, type TestDatabase } from "../helpers/db.js";
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from "../helpers/gateway.js";

const FIXTURE = readFileSync(new URL("../fixtures/openrouter-models.json", import.meta.url), "utf8");

let d: TestDatabase;
let mock: OpenAIUpstream;
let gw: TestGateway;
let openrouter: Server;
let modelsBody = FIXTURE;

before(async () => {
  d = await createPgliteDb();
  mock = await startOpenAIUpstream();
  // A stand-in for OpenRouter's GET /api/v1/models serving the recorded response.
  openrouter = createServer((req, res) => {
    if (req.url === "/api/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(modelsBody);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => openrouter.listen(0, "127.0.0.1", () => r()));
  gw = await startTestGateway({
    database: d,
    config: {
      providers: [{ id: "mock", type: "openai", base_url: mock.baseUrl }],
      models: [{ id: "t/mini", routes: [{ provider: "mock", model: "gpt-4o-mini" }], price: { input: 0.15, output: 0.6 } }],
    },
    env: {
      RATE_LIMIT_REQUESTS: "0",
      RATE_LIMIT_TOKENS: "0",
      USD_RATE: "100",
      DEFAULT_MARKUP: "1.5",
      BILLING_CACHE_TTL_MS: "60000",
      OPENROUTER_BASE_URL: `http://127.0.0.1:${(openrouter.address() as AddressInfo).port}/api/v1`,
    },
  });
});
after(async () => {
  await gw?.stop();
  await mock?.close();
  await new Promise((r) => openrouter?.close(r));
  await d?.drop();
});

async function call(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
  const r = await fetch(gw.url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : null) as any };
}

const chatCost = async (key: string) => {
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "t/mini", max_tokens: 600, messages: [{ role: "user", content: "x".repeat(1000) }], mock: { usage: { prompt_tokens: 1000, completion_tokens: 500 } } }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as { usage: { cost: number } }).usage.cost;
};

test("admin billing endpoints need the admin token", async () => {
  for (const [m, p] of [
    ["GET", "/admin/tariffs"],
    ["POST", "/admin/accounts/acct_x/adjustments"],
    ["GET", "/admin/prices"],
    ["GET", "/admin/stats/summary"],
    ["GET", "/admin/fx-rates"],
  ] as const) {
    assert.equal((await call(m, p, m === "POST" ? {} : undefined, null)).status, 401, p);
    assert.equal((await call(m, p, m === "POST" ? {} : undefined, "wrong-token-wrong-token")).status, 401, p);
  }
});

test("adjustments answer the new balance, are idempotent, and show in the ledger", async () => {
  const { accountId } = await gw.createAccountWithKey({ balance: "10" });
  const a = await call("POST", `/admin/accounts/${accountId}/adjustments`, { amount: "150.00", reason: "bonus", idempotency_key: "adj-1" });
  assert.equal(a.status, 200);
  assert.deepEqual({ ...a.body, entry_id: undefined }, { account_id: accountId, applied: true, entry_id: undefined, balance: "160.00", reserved: "0.00", available: "160.00", currency: "RUB" });
  const again = await call("POST", `/admin/accounts/${accountId}/adjustments`, { amount: "150.00", reason: "bonus", idempotency_key: "adj-1" });
  assert.equal(again.body.applied, false);
  assert.equal(again.body.balance, "160.00");
  assert.equal(again.body.entry_id, a.body.entry_id);
  assert.equal((await call("POST", `/admin/accounts/${accountId}/adjustments`, { amount: "1.00", reason: "x", idempotency_key: "adj-1" })).status, 409);
  assert.equal((await call("POST", `/admin/accounts/${accountId}/adjustments`, { amount: "-1000", reason: "too much" })).status, 409);
  const debit = await call("POST", `/admin/accounts/${accountId}/adjustments`, { amount: "-60.5", reason: "correction" });
  assert.equal(debit.body.balance, "99.50");
  assert.equal((await call("POST", `/admin/accounts/${accountId}/adjustments`, { amount: "1.2345678", reason: "x" })).status, 400);
  assert.equal((await call("POST", `/admin/accounts/${accountId}/adjustments`, { amount: "5" })).status, 400, "reason is required");
  assert.equal((await call("POST", "/admin/accounts/acct_nope/adjustments", { amount: "5", reason: "x" })).status, 404);

  const page1 = await call("GET", `/admin/accounts/${accountId}/ledger?limit=2`);
  assert.equal(page1.status, 200);
  assert.equal(page1.body.balance, "99.50");
  assert.deepEqual(page1.body.data.map((e: any) => [e.kind, e.amount, e.balance_after, e.reason]), [
    ["adjustment", "-60.50", "99.50", "correction"],
    ["adjustment", "150.00", "160.00", "bonus"],
  ]);
  assert.equal(page1.body.data[0].actor, "admin:token");
  const page2 = await call("GET", `/admin/accounts/${accountId}/ledger?limit=2&cursor=${page1.body.next_cursor}`);
  assert.equal(page2.body.data.length, 1);
  assert.equal(page2.body.data[0].amount, "10.00");
  assert.equal((await call("GET", "/admin/accounts/acct_nope/ledger")).status, 404);
  const audits = await d.db.select().from(auditLog).where(eq(auditLog.action, "account.adjust_balance"));
  assert.equal(audits.filter((x) => x.targetId === accountId).length, 2);
});

test("tariffs: create the seed's Test Basic, assign it, the key sees it; validation and conflicts", async () => {
  const { accountId, key } = await gw.createAccountWithKey({ balance: "10" });
  const created = await call("POST", "/admin/tariffs", { name: "Test Basic", description: "Базовый тестовый тариф", markup: "1.0", token_allowance: 10000, rate_limits: { rpm: 30 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.markup, "1.0");
  assert.equal(created.body.token_allowance, 10000);
  const id = created.body.id as string;
  assert.equal((await call("POST", "/admin/tariffs", { name: "Test Basic" })).status, 409);
  assert.equal((await call("POST", "/admin/tariffs", { name: "Bad", markup: "0" })).status, 400);
  assert.equal((await call("POST", "/admin/tariffs", { name: "Bad", limits: { daily_money: "lots" } })).status, 400);
  assert.equal((await call("POST", "/admin/tariffs", { name: "Bad", rate_limits: { rps: 1 } })).status, 400);

  assert.equal((await call("PUT", `/admin/accounts/${accountId}/tariff`, { tariff_id: id })).status, 200);
  const t = await fetch(`${gw.url}/tariff`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json() as Promise<any>);
  assert.equal(t.tariff.name, "Test Basic");
  assert.equal(t.tariff.max_tokens, 10000);
  assert.equal(t.tariff.description, "Базовый тестовый тариф");
  assert.equal(await chatCost(key), 0.045, "markup 1.0: (1000 × 0.15 + 500 × 0.6) / 1e6 $ × 100");
  const t2 = await fetch(`${gw.url}/tariff`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json() as Promise<any>);
  assert.deepEqual(t2.usage, { used_tokens: 1500, remaining_tokens: 8500, usage_percentage: 15 });

  const patched = await call("PATCH", `/admin/tariffs/${id}`, { description: "changed", model_markups: { "t/mini": "2" } });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.model_markups, { "t/mini": "2" });
  assert.equal(await chatCost(key), 0.09, "the tariff's per-model markup applies at once in this process");
  const list = await call("GET", "/admin/tariffs");
  assert.equal(list.body.data.find((x: any) => x.id === id).accounts, 1);
  assert.ok(list.body.data.some((x: any) => x.is_default && x.name === "default"));
  assert.equal((await call("DELETE", `/admin/tariffs/${id}`)).status, 409, "in use");
  assert.equal((await call("PUT", `/admin/accounts/${accountId}/tariff`, { tariff_id: null })).status, 200);
  assert.equal((await call("DELETE", `/admin/tariffs/${id}`)).status, 200);
  assert.equal((await call("GET", `/admin/tariffs/${id}`)).status, 404);
  assert.equal((await call("PUT", `/admin/accounts/${accountId}/tariff`, { tariff_id: "trf_nope" })).status, 404);
});

test("prices, FX rate and the catalog sync guard through the admin API", async () => {
  const { key } = await gw.createAccountWithKey({ balance: "10" });
  assert.equal(await chatCost(key), 0.0675);
  const put = await call("PUT", "/admin/prices", { model_id: "t/mini", input: "0.3", output: "1.2", markup: "1.0" });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual([put.body.input, put.body.output, put.body.markup, put.body.source, put.body.provider_id], ["0.3", "1.2", "1.0", "admin", "*"]);
  assert.equal(await chatCost(key), 0.09, "the book overrides the config price; its markup the tariff's");
  const fx = await call("POST", "/admin/fx-rates", { rate: "90", reason: "weekly" });
  assert.equal(fx.status, 201);
  assert.equal(await chatCost(key), 0.081);
  const rates = await call("GET", "/admin/fx-rates");
  assert.equal(rates.body.rate, "90.00");
  assert.deepEqual(rates.body.history.map((h: any) => h.rate), ["90.00", "100.00"]);
  assert.equal((await call("GET", "/admin/prices?model=mini")).body.total, 1);
  assert.equal((await call("DELETE", "/admin/prices?model_id=t/mini")).status, 200);
  assert.equal((await call("DELETE", "/admin/prices?model_id=t/mini")).status, 404);
  assert.equal((await call("PUT", "/admin/prices", { model_id: "x", input: "-1", output: "1" })).status, 400);
  await call("POST", "/admin/fx-rates", { rate: "100" });

  const first = await call("POST", "/admin/prices/sync");
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.added, 7);
  assert.deepEqual((await call("GET", "/admin/price-changes")).body.data, []);
  modelsBody = FIXTURE.replace('"completion": "0.00001"', '"completion": "0.00003"');
  const second = await call("POST", "/admin/prices/sync");
  assert.equal(second.body.held, 1);
  const pending = (await call("GET", "/admin/price-changes")).body.data;
  assert.equal(pending.length, 1);
  assert.equal(pending[0].model_id, "openai/gpt-4o");
  assert.equal(pending[0].old_price.output, "10");
  assert.equal(pending[0].new_price.output, "30");
  assert.equal(pending[0].change_pct, 200);
  assert.equal((await call("POST", `/admin/price-changes/${pending[0].id}/approve`)).status, 200);
  assert.equal((await call("POST", `/admin/price-changes/${pending[0].id}/reject`)).status, 409);
  assert.equal((await call("POST", "/admin/price-changes/pc_nope/approve")).status, 404);
  const row = (await call("GET", "/admin/prices?model=openai/gpt-4o&source=sync")).body.data.find((p: any) => p.model_id === "openai/gpt-4o");
  assert.equal(row.output, "30");
  modelsBody = FIXTURE;
});

test("platform statistics add up to the request log", async () => {
  const { key } = await gw.createAccountWithKey({ balance: "10" });
  await chatCost(key);
  const db = d.db;
  // The request log is written in batches: flush what this process still holds (rows of earlier
  // tests included), then wait for every row's price.
  await gw.gateway.deps.logs.flush();
  const deadline = Date.now() + 30_000;
  const unpriced = async () => (await db.select({ n: sql<number>`count(*)::int` }).from(requestLogs).where(sql`${requestLogs.priceMicros} is null`))[0]!.n;
  while ((await unpriced()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.equal(await unpriced(), 0, "every request log row carries its price");
  const [t] = await db
    .select({ n: sql<number>`count(*)::int`, rev: sql<string>`sum(${requestLogs.priceMicros})::text`, cost: sql<string>`sum(${requestLogs.upstreamCostMicros})::text` })
    .from(requestLogs);
  const summary = await call("GET", "/admin/stats/summary?days=1");
  assert.equal(summary.status, 200);
  assert.equal(summary.body.requests, t!.n);
  const toMicros = (s: string) => {
    const [w, f = ""] = s.split(".");
    return BigInt(w!) * 1_000_000n + BigInt(f.padEnd(6, "0"));
  };
  assert.equal(toMicros(summary.body.revenue), BigInt(t!.rev));
  assert.equal(toMicros(summary.body.upstream_cost), BigInt(t!.cost));
  assert.equal(toMicros(summary.body.profit), BigInt(t!.rev) - BigInt(t!.cost));
  assert.ok(BigInt(t!.rev) > BigInt(t!.cost), "sold above cost");
  const daily = await call("GET", "/admin/stats/daily?days=2");
  assert.equal(daily.body.data.reduce((s: number, r: any) => s + r.requests, 0), t!.n);
  const models = await call("GET", "/admin/stats/models?days=2");
  assert.equal(models.body.data.find((m: any) => m.model === "t/mini").requests, t!.n);
  assert.equal((await call("GET", "/admin/stats/summary?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z")).status, 400);
});

test("every admin write left an audit row; the routes are in /openapi.json", async () => {
  const actions = new Set((await d.db.select({ a: auditLog.action }).from(auditLog)).map((r) => r.a));
  for (const a of ["account.adjust_balance", "tariff.create", "tariff.update", "tariff.delete", "account.set_tariff", "price.create", "price.delete", "fx_rate.set", "prices.sync", "price_change.approve"]) {
    assert.ok(actions.has(a), `audit action ${a}`);
  }
  const spec = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  for (const p of ["/v1/client/balance", "/v1/client/usage", "/v1/client/usage/daily", "/v1/client/models/usage", "/v1/client/recent-requests", "/usage", "/limits", "/tariff", "/v1/key", "/v1/generation", "/admin/accounts/{id}/adjustments", "/admin/tariffs", "/admin/prices", "/admin/price-changes/{id}/approve", "/admin/fx-rates", "/admin/stats/summary"]) {
    assert.ok(spec.paths[p], `openapi has ${p}`);
  }
});
