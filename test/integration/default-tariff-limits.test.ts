import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

describeEachDb("the default tariff's rate limits apply to accounts with no tariff of their own", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  before(async () => {
    db = await createDb();
    gw = await startTestGateway({ database: db, env: { RATE_LIMIT_REQUESTS: "1000" } });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("rpm 2 on the default tariff: the third request in the window gets 429 naming the key limit", async () => {
    const list = (await (await gw.admin("/admin/tariffs")).json()) as { data: Array<{ id: string; is_default: boolean }> };
    const def = list.data.find((t) => t.is_default)!;
    const patched = await gw.admin(`/admin/tariffs/${def.id}`, { method: "PATCH", body: { rate_limits: { rpm: 2 } } });
    assert.equal(patched.status, 200, await patched.clone().text());
    const { key } = await gw.createAccountWithKey({ name: "no tariff" });
    const call = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
      });
    assert.equal((await call()).status, 200);
    const second = await call();
    assert.equal(second.status, 200);
    assert.equal(second.headers.get("x-ratelimit-limit-requests"), "2");
    const third = await call();
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get("retry-after")) >= 1);
    const body = (await third.json()) as { error: { code: string; limit_source: string } };
    assert.equal(body.error.code, "rate_limit_exceeded");
    assert.equal(body.error.limit_source, "key_rpm");
  });
});
