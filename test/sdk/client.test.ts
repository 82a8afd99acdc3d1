import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it, test } from "node:test";
import { GatewayClient, GatewayConnectionError, GatewayError } from "../../sdk/src/index.js";
import { backoffMs, DEFAULT_RETRY, retryAfterSeconds, shouldRetry } from "../../sdk/src/retry.js";
import { errorCodesSource, liveOpenApiDocument, typesFor } from "../../sdk/scripts/generate.js";
import { createPgliteDb, type TestDatabase } from "../helpers/db.js";
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from "../helpers/gateway.js";

describe("the SDK against a real gateway", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let admin: GatewayClient;

  before(async () => {
    db = await createPgliteDb();
    gw = await startTestGateway({ database: db });
    admin = new GatewayClient({ baseUrl: gw.url, adminToken: ADMIN_TOKEN });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  it("admin: accounts, idempotent adjustments, keys, tariffs, prices", async () => {
    const acct = await admin.admin.accounts.create({ name: "SDK Co", initial_balance: "10.00" });
    assert.match(acct.id, /^acct_/);
    assert.equal(acct.balance, "10.00");
    const adj = await admin.admin.accounts.adjust(acct.id, { amount: "5.50", reason: "invoice 1", idempotency_key: "inv-1" });
    assert.equal(adj.applied, true);
    assert.equal(adj.balance, "15.50");
    const again = await admin.admin.accounts.adjust(acct.id, { amount: "5.50", reason: "invoice 1", idempotency_key: "inv-1" });
    assert.equal(again.applied, false, "a replayed adjustment changes nothing");
    assert.equal((await admin.admin.accounts.get(acct.id)).balance, "15.50");
    const ledger = await admin.admin.accounts.ledger(acct.id);
    assert.ok(ledger.data.length >= 2);

    const t = await admin.admin.tariffs.create({ name: "SDK tariff", markup: "1.5" });
    assert.ok((await admin.admin.tariffs.list()).data.some((x) => x.id === t.id));
    await admin.admin.prices.set({ model_id: "sdk/model", input: "1", output: "2" });
    const prices = await admin.admin.prices.list();
    assert.ok(prices.data.some((p) => p.model_id === "sdk/model"));

    const key = await admin.admin.generateKey({ account_id: acct.id, name: "sdk" });
    assert.match(key.key, /^sk-gw-/);
  });

  it("client: balance, usage, key, models with prices, generation of a request made with openai", async () => {
    const { key } = await gw.createAccountWithKey({ balance: "20.00" });
    const c = new GatewayClient({ baseUrl: gw.url, apiKey: key });
    const b0 = await c.balance();
    assert.equal(b0.balance, "20.00");
    const r = await gw.openai(key).chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }).withResponse();
    const id = r.response.headers.get("x-request-id")!;
    await gw.gateway.deps.logs.flush();
    const g = await c.generation(id);
    assert.equal(g.data.id, id);
    const u = await c.usage();
    assert.ok(JSON.stringify(u).includes("today"));
    assert.ok((await c.models()).data.length > 0);
    assert.ok((await c.key()).data);
  });

  it("keys: a session token lists, creates and revokes its keys", async () => {
    const reg = (await (await fetch(gw.url + "/v1/auth/register", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "sdk@example.com", password: "sdk-password-1" }) })).json()) as { access_token: string };
    const c = new GatewayClient({ baseUrl: gw.url, apiKey: reg.access_token });
    const k = await c.keys.create({ name: "from sdk" });
    assert.match(k.secret, /^sk-gw-/);
    assert.ok((await c.keys.list()).data.some((x) => x.id === k.id));
    await c.keys.revoke(k.id);
    const after = await new GatewayClient({ baseUrl: gw.url, apiKey: k.secret }).balance().catch((e: unknown) => e);
    assert.ok(after instanceof GatewayError && after.code === "key_revoked", String(after));
  });

  it("errors are typed: status, code, request id, details", async () => {
    const bad = new GatewayClient({ baseUrl: gw.url, apiKey: "sk-gw-000000000000000000000000000000000000000" });
    const e = await bad.balance().catch((x: unknown) => x);
    assert.ok(e instanceof GatewayError);
    assert.equal(e.status, 401);
    assert.equal(e.code, "invalid_api_key");
    assert.match(e.requestId ?? "", /^req_/);
    const notAdmin = await new GatewayClient({ baseUrl: gw.url, adminToken: "not-the-admin-token-at-all" }).admin.accounts.list().catch((x: unknown) => x);
    assert.ok(notAdmin instanceof GatewayError && notAdmin.status === 401);
    const missing = await admin.admin.accounts.get("acct_nope").catch((x: unknown) => x);
    assert.ok(missing instanceof GatewayError && missing.status === 404, String(missing));
  });

  it("retries 429/503 honouring Retry-After, never repeats a POST after a 502", async () => {
    const seen: string[] = [];
    let failures = 2;
    const flaky: typeof fetch = async (input, init) => {
      seen.push(`${init?.method} ${String(input).replace(gw.url, "")}`);
      if (failures-- > 0) return new Response(JSON.stringify({ error: { message: "slow down", type: "rate_limit_error", code: "rate_limit_exceeded", param: null, request_id: "req_x", limit_source: "key_rpm" } }), { status: 429, headers: { "retry-after": "0" } });
      return fetch(input, init);
    };
    const c = new GatewayClient({ baseUrl: gw.url, adminToken: ADMIN_TOKEN, fetch: flaky });
    const acct = await c.admin.accounts.create({ name: "retried" });
    assert.equal(seen.length, 3, "two 429s, then the request went through");
    assert.equal((await admin.admin.accounts.list({ limit: 200 } as never)).data.filter((a) => a.name === "retried").length, 1, "created once");
    assert.match(acct.id, /^acct_/);

    failures = 5;
    seen.length = 0;
    const e = await new GatewayClient({ baseUrl: gw.url, adminToken: ADMIN_TOKEN, fetch: flaky, retry: { maxRetries: 1 } }).admin.tariffs.list().catch((x: unknown) => x);
    assert.ok(e instanceof GatewayError && e.isRateLimited && e.retryAfterSec === 0 && e.details.limit_source === "key_rpm");
    assert.equal(seen.length, 2, "maxRetries bounds the attempts");

    let calls = 0;
    const upstreamDown: typeof fetch = async () => {
      calls++;
      return new Response(JSON.stringify({ error: { message: "upstream failed", type: "api_error", code: "upstream_error", param: null, request_id: null } }), { status: 502 });
    };
    const post = await new GatewayClient({ baseUrl: gw.url, adminToken: ADMIN_TOKEN, fetch: upstreamDown }).admin.accounts.create({ name: "x" }).catch((x: unknown) => x);
    assert.ok(post instanceof GatewayError && post.code === "upstream_error");
    assert.equal(calls, 1, "a POST that may have run is not repeated");
    calls = 0;
    await new GatewayClient({ baseUrl: gw.url, adminToken: ADMIN_TOKEN, fetch: upstreamDown, retry: { baseDelayMs: 1 } }).admin.tariffs.list().catch(() => undefined);
    assert.equal(calls, 3, "a GET is retried (2 retries by default)");

    const dead = await new GatewayClient({ baseUrl: "http://127.0.0.1:9", apiKey: "sk-gw-x", retry: { maxRetries: 0 } }).balance().catch((x: unknown) => x);
    assert.ok(dead instanceof GatewayConnectionError);
  });
});

test("retry policy: Retry-After in seconds or as a date; exponential backoff with jitter, capped", () => {
  assert.equal(retryAfterSeconds("3"), 3);
  assert.equal(retryAfterSeconds(new Date(Date.now() + 10_000).toUTCString()) !== null, true);
  assert.equal(retryAfterSeconds(null), null);
  assert.equal(retryAfterSeconds("soon"), null);
  assert.equal(backoffMs(1, 2, DEFAULT_RETRY), 2000, "Retry-After wins");
  assert.equal(backoffMs(1, null, DEFAULT_RETRY, () => 1), 500);
  assert.equal(backoffMs(2, null, DEFAULT_RETRY, () => 1), 1000);
  assert.equal(backoffMs(2, null, DEFAULT_RETRY, () => 0), 500, "jitter keeps at least half");
  assert.equal(backoffMs(10, null, DEFAULT_RETRY, () => 1), 8000, "capped");
  assert.ok(shouldRetry(429, "POST") && shouldRetry(503, "POST") && shouldRetry(502, "GET"));
  assert.ok(!shouldRetry(502, "POST") && !shouldRetry(400, "GET") && !shouldRetry(404, "GET"));
});

test("the SDK's types are generated from its committed openapi.json, and the live API still has every path it calls", async () => {
  const committed = JSON.parse(readFileSync("sdk/openapi.json", "utf8")) as { paths: Record<string, Record<string, unknown>>; info: { version: string } };
  assert.equal(readFileSync("sdk/src/schema.ts", "utf8"), await typesFor(committed), "sdk/src/schema.ts is stale: run npm run sdk:generate");
  assert.equal(readFileSync("sdk/src/error-codes.ts", "utf8"), errorCodesSource(), "the error table changed: run npm run sdk:generate");
  const pkg = JSON.parse(readFileSync("sdk/package.json", "utf8")) as { version: string };
  assert.equal(pkg.version, committed.info.version, "the SDK is versioned with the API");
  const live = (await liveOpenApiDocument()) as typeof committed;
  const used = [...readFileSync("sdk/src/client.ts", "utf8").matchAll(/method: "(\w+)", path: "([^"]+)"/g)].map((m) => [m[1]!, m[2]!] as const);
  assert.ok(used.length >= 25);
  for (const [method, path] of used) assert.ok(live.paths[path]?.[method], `${method.toUpperCase()} ${path} is gone from the gateway's API: regenerate and update the SDK`);
});
