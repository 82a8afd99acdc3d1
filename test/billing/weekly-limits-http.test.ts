import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

// Weekly limits set through the HTTP APIs (admin keys, the user's own keys, tariffs) are enforced
// and shown like daily and monthly ones.
describeEachDb("weekly limits over HTTP", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  before(async () => {
    db = await createDb();
    gw = await startTestGateway({ database: db, env: { KEY_CACHE_TTL_MS: "0", BILLING_CACHE_TTL_MS: "0", RATE_LIMIT_REQUESTS: "1000" } });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  const chat = (key: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
    });
  const refusedBy = async (r: Response, source: string) => {
    const body = (await r.json()) as { error: { code: string; limit_source: string } };
    assert.equal(r.status, 403, JSON.stringify(body));
    assert.equal(body.error.code, "quota_exceeded");
    assert.equal(body.error.limit_source, source);
  };

  test("admin PATCH /admin/keys: weekly_requests and weekly_money are stored, shown by /limits, and refuse as key_weekly", async () => {
    const { key, keyId } = await gw.createAccountWithKey({ balance: "100" });
    const bad = await gw.admin(`/admin/keys/${keyId}`, { method: "PATCH", body: { limits: { weekly_requests: -1 } } });
    assert.equal(bad.status, 400, "a negative weekly limit is a 400");
    const p = await gw.admin(`/admin/keys/${keyId}`, { method: "PATCH", body: { limits: { weekly_requests: 1, weekly_money: "50" } } });
    assert.equal(p.status, 200, await p.clone().text());
    const shown = (await p.json()) as { limits: Record<string, unknown> };
    assert.equal(shown.limits.weekly_requests, 1);
    assert.equal(shown.limits.weekly_money, "50");

    const before = (await (await fetch(`${gw.url}/limits`, { headers: { authorization: `Bearer ${key}` } })).json()) as any;
    assert.match(before.key.weekly.window, /^\d{4}-W\d{2}$/);
    assert.equal(Number(before.key.weekly.requests.limit), 1);
    assert.equal(before.key.weekly.money.limit, "50.00");
    assert.equal(before.key.daily, null, "no daily limit set");

    assert.equal((await chat(key)).status, 200);
    await refusedBy(await chat(key), "key_weekly");
    const afterUse = (await (await fetch(`${gw.url}/limits`, { headers: { authorization: `Bearer ${key}` } })).json()) as any;
    assert.equal(Number(afterUse.key.weekly.requests.remaining), 0);
  });

  test("a user's own key from /v1/auth/api-keys: weekly_tokens on create, lowered by PATCH, raising it needs an admin", async () => {
    const reg = (await (
      await fetch(`${gw.url}/v1/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "weekly@example.com", password: "weekly-password-1" }),
      })
    ).json()) as { access_token: string };
    const auth = { authorization: `Bearer ${reg.access_token}`, "content-type": "application/json" };
    const made = await fetch(`${gw.url}/v1/auth/api-keys`, { method: "POST", headers: auth, body: JSON.stringify({ name: "w", limits: { weekly_tokens: 100000 } }) });
    assert.equal(made.status, 201, await made.clone().text());
    const k = (await made.json()) as { id: string; secret: string; limits: Record<string, unknown> };
    assert.equal(k.limits.weekly_tokens, 100000);
    const raise = await fetch(`${gw.url}/v1/auth/api-keys/${k.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ limits: { weekly_tokens: 200000 } }) });
    assert.equal(raise.status, 403, "raising a weekly limit needs an admin");
    // One token a week: the first request's usage uses it up.
    const lower = await fetch(`${gw.url}/v1/auth/api-keys/${k.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ limits: { weekly_tokens: 1 } }) });
    assert.equal(lower.status, 200, await lower.clone().text());
    assert.equal(((await lower.json()) as any).limits.weekly_tokens, 1);
    const acct = (await (await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${k.secret}` } })).json()) as any;
    assert.equal(acct.data.limits.weekly.tokens.limit, 1);
    // the account needs money to reach the quota check
    const list = (await (await gw.admin(`/admin/keys/${k.id}`)).json()) as { account_id: string };
    assert.equal((await gw.admin(`/admin/accounts/${list.account_id}/adjustments`, { body: { amount: "100", reason: "test" } })).status, 200);
    await refusedBy(await chat(k.secret), "key_weekly");
  });

  test("a tariff's weekly account limit via /admin/tariffs is shown back and refuses as account_weekly", async () => {
    const t = await gw.admin("/admin/tariffs", { body: { name: "weekly-1", limits: { weekly_requests: 1 }, key_limits: { weekly_tokens: 1000000 } } });
    assert.equal(t.status, 201, await t.clone().text());
    const tariff = (await t.json()) as { id: string; limits: Record<string, unknown>; key_limits: Record<string, unknown> };
    assert.equal(tariff.limits.weekly_requests, 1);
    assert.equal(tariff.key_limits.weekly_tokens, 1000000);
    const read = (await (await gw.admin(`/admin/tariffs/${tariff.id}`)).json()) as any;
    assert.equal(read.limits.weekly_requests, 1);
    const bad = await gw.admin(`/admin/tariffs/${tariff.id}`, { method: "PATCH", body: { limits: { weekly_money: "-5" } } });
    assert.equal(bad.status, 400, "a negative weekly money limit is a 400");

    const { key, accountId } = await gw.createAccountWithKey({ balance: "100" });
    const assigned = await gw.admin(`/admin/accounts/${accountId}/tariff`, { method: "PUT", body: { tariff_id: tariff.id } });
    assert.equal(assigned.status, 200, await assigned.clone().text());
    assert.equal((await chat(key)).status, 200);
    await refusedBy(await chat(key), "account_weekly");
  });
});
