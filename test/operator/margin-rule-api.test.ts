import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { requestLogs } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

// The margin rule is set per tariff through the admin API and decides the price of the next request.
describeEachDb("margin_rule on the tariff admin API", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let mock: OpenAIUpstream;

  before(async () => {
    db = await createDb();
    mock = await startOpenAIUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [{ id: "up", type: "openai", base_url: mock.baseUrl, api_key: "sk-up" }],
        // $1 / $2 per 1M tokens: 1000 + 1000 tokens list at $0.003
        models: [{ id: "acme/cheap", routes: [{ provider: "up", model: "cheap" }], price: { input: 1, output: 2 } }],
      },
      env: { TELEGRAM_MODE: "off", BILLING_CACHE_TTL_MS: "0", KEY_CACHE_TTL_MS: "0", BILLING_MARGIN_RULE: "list_price" },
    });
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await db?.drop();
  });

  const priced = async (key: string) => {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "acme/cheap", messages: [{ role: "user", content: "hi" }], max_tokens: 2000 }),
    });
    assert.equal(r.status, 200, await r.clone().text());
    await gw.gateway.deps.logs.flush();
    const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, r.headers.get("x-request-id")!));
    return row!;
  };

  test("create with charge_reported, read it back, bad values are 400, the rule prices requests and PATCH switches it", async () => {
    const bad = await gw.admin("/admin/tariffs", { body: { name: "bad", margin_rule: "cheapest" } });
    assert.equal(bad.status, 400);
    const created = await gw.admin("/admin/tariffs", { body: { name: "pass-through", markup: "1.5", margin_rule: "charge_reported" } });
    assert.equal(created.status, 201, await created.clone().text());
    const t = (await created.json()) as { id: string; margin_rule: string | null };
    assert.equal(t.margin_rule, "charge_reported");
    const read = (await (await gw.admin(`/admin/tariffs/${t.id}`)).json()) as { margin_rule: string | null };
    assert.equal(read.margin_rule, "charge_reported");
    const listed = (await (await gw.admin("/admin/tariffs")).json()) as { data: Array<{ id: string; margin_rule: string | null }> };
    assert.equal(listed.data.find((x) => x.id === t.id)?.margin_rule, "charge_reported");
    assert.equal(listed.data.find((x) => x.id !== t.id)?.margin_rule, null, "other tariffs follow BILLING_MARGIN_RULE");

    const { key, accountId } = await gw.createAccountWithKey({ balance: "100" });
    assert.equal((await gw.admin(`/admin/accounts/${accountId}/tariff`, { method: "PUT", body: { tariff_id: t.id } })).status, 200);
    // The upstream reports $0.0035 for what lists at $0.003: above list, below the request's hold
    // (~0.60 RUB for max_tokens 2000), which caps any charge.
    mock.configure({ usage: { prompt_tokens: 1000, completion_tokens: 1000, cost: 0.0035 } });
    const a = await priced(key);
    assert.equal(a.priceMicros, 525_000n, "reported $0.0035 × 100 RUB × 1.5");
    assert.equal(a.upstreamCostMicros, 350_000n);
    assert.equal(a.meta?.margin, "charged_reported");

    const patched = await gw.admin(`/admin/tariffs/${t.id}`, { method: "PATCH", body: { margin_rule: "list_price" } });
    assert.equal(patched.status, 200, await patched.clone().text());
    assert.equal(((await patched.json()) as any).margin_rule, "list_price");
    const b = await priced(key);
    assert.equal(b.priceMicros, 450_000n, "list $0.003 × 100 RUB × 1.5");
    assert.equal(b.meta?.margin, "kept_list");

    const cleared = await gw.admin(`/admin/tariffs/${t.id}`, { method: "PATCH", body: { margin_rule: null } });
    assert.equal(((await cleared.json()) as any).margin_rule, null);
  });
});
