import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { upstreamCustomerKeys } from "../../src/db/schema/index.js";
import { customerKeyName } from "../../src/upstream-keys/customer-keys.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { FakeOpenRouter } from "../fakes/openrouter-keys-api.js";

const until = async (what: string, cond: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describeEachDb("per-account OpenRouter keys through the gateway", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let or: FakeOpenRouter;

  before(async () => {
    db = await createDb();
    or = new FakeOpenRouter();
    await or.start();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [{ id: "or", type: "openrouter", base_url: or.baseUrl, api_key: or.sharedKey }],
        models: [{ id: "t/m", routes: [{ provider: "or", model: "vendor/m" }], price: { input: 1, output: 1 } }],
      },
      env: {
        OPENROUTER_PER_ACCOUNT_KEYS: "true",
        OPENROUTER_PROVISIONING_KEY: or.provisioningKey,
        OPENROUTER_BASE_URL: or.baseUrl,
        OPENROUTER_KEY_SYNC_SECONDS: "0",
        ENCRYPTION_KEY: randomBytes(32).toString("hex"),
        USD_RATE: "100",
        BILLING_CURRENCY: "RUB",
        BILLING_CACHE_TTL_MS: "0",
        RATE_LIMIT_REQUESTS: "0",
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await or?.close();
    await db?.drop();
  });

  const chat = (key: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "t/m", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }),
    });
  const keyRow = async (accountId: string) => (await gw.gateway.deps.db.select().from(upstreamCustomerKeys).where(eq(upstreamCustomerKeys.accountId, accountId)))[0];

  test("an account's first request creates its OpenRouter key (limit = balance in USD), stored sealed, and its requests use it", async () => {
    const a = await gw.createAccountWithKey({ balance: "100.00" });
    const b = await gw.createAccountWithKey({ balance: "50.00" });
    or.calls.length = 0;
    for (const k of [a.key, a.key, b.key]) assert.equal((await chat(k)).status, 200);
    const posts = or.managementCalls("POST");
    assert.equal(posts.length, 2, "one key per account, made once");
    assert.equal(posts[0]!.authorization, `Bearer ${or.provisioningKey}`);
    const ka = or.byName(customerKeyName(a.accountId))!;
    const kb = or.byName(customerKeyName(b.accountId))!;
    assert.equal(ka.limit, 1, "100 RUB at 100 RUB/$ = $1");
    assert.equal(kb.limit, 0.5);
    assert.deepEqual(or.completionBearers(), [ka.key, ka.key, kb.key], "each account's requests carry its own key, never the shared one");
    const row = (await keyRow(a.accountId))!;
    assert.equal(row.upstreamHash, ka.hash);
    assert.equal(row.status, "active");
    assert.equal(row.limitUsdMicros, 1_000_000n);
    assert.match(row.secretEnc, /^v1\./);
    assert.ok(!row.secretEnc.includes(ka.key.slice(10)), "the key is stored encrypted");
  });

  test("the pass-through proxy uses the account's key too", async () => {
    const a = await gw.createAccountWithKey({ balance: "10.00" });
    or.calls.length = 0;
    const res = await fetch(`${gw.url}/api/v1/openrouter/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "t/m", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(or.completionBearers(), [or.byName(customerKeyName(a.accountId))!.key]);
  });

  test("the credit limit follows the balance: after a top-up notice at once, after other changes in the periodic sync", async () => {
    const a = await gw.createAccountWithKey({ balance: "100.00" });
    assert.equal((await chat(a.key)).status, 200);
    // The request was charged on a balance lease: its ledger row lands with the next batch (≤ 50 ms).
    // Applied now, so the limit below and the balance the test reads come from the same balance.
    await gw.gateway.deps.billing.flush();
    const k = or.byName(customerKeyName(a.accountId))!;
    assert.equal(k.usage, 0.0001);
    const adjust = async (amount: string) =>
      assert.equal((await gw.admin(`/admin/accounts/${a.accountId}/adjustments`, { body: { amount, reason: "test", idempotency_key: randomBytes(6).toString("hex") } })).status, 200);
    await adjust("100.00");
    // A top-up reaches the keys through the payments runtime's notice, whichever path credited it.
    const keys = gw.gateway.deps.customerKeys!;
    gw.gateway.deps.payments.notices.onCredited!(a.accountId);
    await keys.flushDirty();
    const balance = (await (await gw.admin(`/admin/accounts/${a.accountId}`)).json()) as { balance: string };
    const usd = Number(balance.balance) / 100;
    assert.equal(k.limit, Number((0.0001 + usd).toFixed(6)), "limit = what the key spent upstream + the balance in USD");
    // A debit the notice never heard of: the periodic sync lowers the limit.
    await adjust("-150.00");
    const patchesBefore = or.managementCalls("PATCH").length;
    const run = await keys.syncAll();
    assert.ok(run.updated >= 1);
    const after = (await (await gw.admin(`/admin/accounts/${a.accountId}`)).json()) as { balance: string };
    assert.equal(k.limit, Number((0.0001 + Number(after.balance) / 100).toFixed(6)));
    assert.equal((await keyRow(a.accountId))!.limitUsdMicros, BigInt(Math.round(k.limit! * 1e6)));
    // Nothing changed since: a second sync sends no PATCH for this key.
    const patches = or.managementCalls("PATCH").length;
    await keys.syncAll();
    assert.ok(patches > patchesBefore);
    assert.equal(or.managementCalls("PATCH").length, patches, "an unchanged balance costs no API call");
  });

  test("blocking the account disables its key upstream; unblocking enables it again", async () => {
    const a = await gw.createAccountWithKey({ balance: "10.00" });
    assert.equal((await chat(a.key)).status, 200);
    const k = or.byName(customerKeyName(a.accountId))!;
    assert.equal((await gw.admin(`/admin/accounts/${a.accountId}`, { method: "PATCH", body: { status: "blocked" } })).status, 200);
    await until("key disabled", () => k.disabled);
    await until("row disabled", async () => (await keyRow(a.accountId))!.status === "disabled");
    assert.equal((await chat(a.key)).status, 403, "the gateway refuses the blocked account itself");
    assert.equal((await gw.admin(`/admin/accounts/${a.accountId}`, { method: "PATCH", body: { status: "active" } })).status, 200);
    await until("key enabled", () => !k.disabled);
    or.calls.length = 0;
    assert.equal((await chat(a.key)).status, 200);
    assert.deepEqual(or.completionBearers(), [k.key]);
    assert.equal((await keyRow(a.accountId))!.status, "active");
  });

  test("a key deleted at OpenRouter is forgotten by the sync and made again on the next request", async () => {
    const a = await gw.createAccountWithKey({ balance: "10.00" });
    assert.equal((await chat(a.key)).status, 200);
    const first = or.byName(customerKeyName(a.accountId))!;
    or.keys.delete(first.hash);
    const run = await gw.gateway.deps.customerKeys!.syncAll();
    assert.ok(run.gone >= 1);
    assert.equal((await keyRow(a.accountId))!.status, "deleted");
    or.calls.length = 0;
    assert.equal((await chat(a.key)).status, 200);
    const second = or.byName(customerKeyName(a.accountId))!;
    assert.notEqual(second.hash, first.hash);
    assert.deepEqual(or.completionBearers(), [second.key]);
    assert.equal((await keyRow(a.accountId))!.upstreamHash, second.hash);
  });

  test("while OpenRouter's key API fails, requests go out with the provider's key", async () => {
    const a = await gw.createAccountWithKey({ balance: "10.00" });
    or.calls.length = 0;
    or.failNext = 503;
    assert.equal((await chat(a.key)).status, 200);
    assert.deepEqual(or.completionBearers(), [or.sharedKey]);
    assert.equal(await keyRow(a.accountId), undefined);
    assert.equal(or.byName(customerKeyName(a.accountId)), undefined);
  });
});
