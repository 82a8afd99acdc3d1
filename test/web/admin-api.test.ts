import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import { postLedgerEntry } from "../../src/billing/ledger.js";
import { parseMoney } from "../../src/core/money.js";
import { auditLog, users } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * The server side of the admin panel: the token login, the overview (its profit is the sum of the
 * request log's rows), the price table (the price a request is charged), referral commissions,
 * one log row, and "test this upstream".
 */
describeEachDb("admin panel API", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let mock: OpenAIUpstream;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(gw.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const cookiesOf = (r: Response) =>
    r.headers
      .getSetCookie()
      .map((l) => l.split(";")[0]!)
      .join("; ");

  before(async () => {
    db = await createDb();
    mock = await startOpenAIUpstream();
    gw = await startTestGateway({
      database: db,
      config: {
        providers: [
          { id: "mock", type: "openai", base_url: mock.baseUrl, api_key: "sk-mock-provider-secret-123" },
          { id: "dead", type: "openai", base_url: "http://127.0.0.1:9/v1", api_key: "sk-dead-provider-secret-456" },
        ],
        models: [
          { id: "t/mini", routes: [{ provider: "mock", model: "gpt-4o-mini" }], price: { input: 0.15, output: 0.6 } },
          { id: "t/dead", routes: [{ provider: "dead", model: "gone" }], price: { input: 1, output: 2 } },
        ],
      },
      env: { RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0", USD_RATE: "100", DEFAULT_MARKUP: "1.5", KEY_CACHE_TTL_MS: "0", TELEGRAM_MODE: "off", LOGIN_MAX_FAILURES_PER_IP: "3" },
    });
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await db?.drop();
  });

  test("ADMIN_TOKEN → admin session (cookie + CSRF), audited; a wrong token is 401 and repeated failures 429", async () => {
    const bad = await post("/v1/auth/admin-token", { token: "not-the-token" });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "invalid_credentials");

    const ok = await post("/v1/auth/admin-token", { token: ADMIN_TOKEN }, { "user-agent": "admin-panel-test" });
    assert.equal(ok.status, 200, await ok.clone().text());
    const s = (await ok.json()) as { token_type: string; csrf_token: string; user: { role: string; id: string }; access_token?: string };
    assert.equal(s.token_type, "cookie");
    assert.equal(s.user.role, "admin");
    assert.equal(s.access_token, undefined, "cookie mode keeps the token out of the body");
    const cookie = cookiesOf(ok);
    assert.match(cookie, /lg_at=/);

    const overview = await fetch(`${gw.url}/admin/overview`, { headers: { cookie } });
    assert.equal(overview.status, 200);
    const me = (await (await fetch(`${gw.url}/v1/auth/me`, { headers: { cookie } })).json()) as { role: string; user: { id: string } };
    assert.equal(me.role, "admin");

    // Writes with the cookie need the CSRF token; with it they are audited as the operator user.
    const noCsrf = await post("/admin/fx-rates", { rate: "100" }, { cookie });
    assert.equal(noCsrf.status, 403);
    const withCsrf = await post("/admin/fx-rates", { rate: "100", reason: "panel test" }, { cookie, "x-csrf-token": s.csrf_token });
    assert.equal(withCsrf.status, 201, await withCsrf.clone().text());

    const audit = await gw.gateway.deps.db.select().from(auditLog).where(eq(auditLog.action, "admin.session.create"));
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor, "admin:token");
    assert.ok(!JSON.stringify(audit[0]).includes(ADMIN_TOKEN), "the token is never in the audit log");
    const fx = await gw.gateway.deps.db.select().from(auditLog).where(eq(auditLog.actor, `admin:${s.user.id}`));
    assert.ok(fx.length >= 1, "writes of the token session are audited as the operator user");

    // Logout ends it.
    const out = await post("/v1/auth/logout", {}, { cookie, "x-csrf-token": s.csrf_token });
    assert.equal(out.status, 200);
    assert.equal((await fetch(`${gw.url}/admin/overview`, { headers: { cookie } })).status, 401);

    // A blocked operator user turns token logins off.
    await gw.gateway.deps.db.update(users).set({ status: "blocked" }).where(eq(users.id, s.user.id));
    assert.equal((await post("/v1/auth/admin-token", { token: ADMIN_TOKEN })).status, 403);
    await gw.gateway.deps.db.update(users).set({ status: "active" }).where(eq(users.id, s.user.id));

    // The web app's mode: access token in the body, only the refresh token (and CSRF) as cookies.
    const web = await post("/v1/auth/admin-token", { token: ADMIN_TOKEN, session: "web" });
    assert.equal(web.status, 200);
    const w = (await web.json()) as { access_token: string; refresh_token?: string };
    assert.ok(w.access_token && w.refresh_token === undefined);
    assert.doesNotMatch(cookiesOf(web), /lg_at=/);
    assert.match(cookiesOf(web), /lg_rt=/);
    assert.equal((await fetch(`${gw.url}/admin/overview`, { headers: { authorization: `Bearer ${w.access_token}` } })).status, 200);

    // Brute force: the 3rd wrong token from this IP (LOGIN_MAX_FAILURES_PER_IP=3, one above) locks it out.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post("/v1/auth/admin-token", { token: `guess-${i}` })).status);
    assert.deepEqual(statuses, [401, 429, 429]);
    const locked = await post("/v1/auth/admin-token", { token: ADMIN_TOKEN });
    assert.equal(locked.status, 429, `after ${statuses}`);
    assert.ok(Number(locked.headers.get("retry-after")) > 0);
  });

  test("a client's session is refused by the admin API (403) and cannot trade anything for an admin session", async () => {
    const reg = await post("/v1/auth/register", { email: "client@panel.test", password: "client-password-123" });
    const r = (await reg.json()) as { access_token: string };
    for (const path of ["/admin/overview", "/admin/price-table", "/admin/referral-commissions", "/admin/logs/req_x"]) {
      const res = await fetch(gw.url + path, { headers: { authorization: `Bearer ${r.access_token}` } });
      assert.equal(res.status, 403, path);
    }
    const t = await post("/admin/routing/upstream-test", { provider_id: "mock" }, { authorization: `Bearer ${r.access_token}` });
    assert.equal(t.status, 403);
    assert.equal((await post("/v1/auth/admin-token", { token: r.access_token })).status === 200, false);
  });

  test("overview: today's revenue, upstream cost and profit equal the sums over the request log; a loss-making request is flagged", async () => {
    const { key, accountId } = await gw.createAccountWithKey({ name: "Overview Co", balance: "1000.00" });
    const client = gw.openai(key);
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: "t/mini", messages: [{ role: "user", content: `hello number ${i}` }] });
    // The upstream reports a cost far above the list price: price = list × markup, cost = reported → a loss.
    mock.configure({ usage: { prompt_tokens: 10, completion_tokens: 10, cost: 0.5 }, times: 1 });
    await client.chat.completions.create({ model: "t/mini", messages: [{ role: "user", content: "expensive" }] });
    await assert.rejects(client.chat.completions.create({ model: "t/dead", messages: [{ role: "user", content: "x" }] }));
    await gw.gateway.deps.logs.flush();

    const logs = (await (await gw.admin(`/admin/logs?account_id=${accountId}&limit=100`)).json()) as {
      data: Array<{ id: string; cost: string | null; upstream_cost: string | null; profit: string | null; status: string }>;
    };
    assert.equal(logs.data.length, 5);
    const sum = (k: "cost" | "upstream_cost" | "profit") => logs.data.reduce((s, r) => s + (r[k] === null ? 0n : parseMoney(r[k]!)), 0n);

    const o = (await (await gw.admin("/admin/overview?days=7")).json()) as {
      periods: Record<"today" | "d7" | "d30", { requests: number; failed: number; revenue: string; upstream_cost: string; profit: string; margin: number | null; error_rate: number }>;
      daily: Array<{ date: string; profit: string }>;
      by_model: Array<{ model: string; requests: number }>;
      by_provider: Array<{ provider_id: string; requests: number }>;
      top_accounts: Array<{ account_id: string; name: string; profit: string }>;
      anomalies: Array<{ id: string; reason: string }>;
      anomaly_counts: { loss: number; failed: number };
      holds: { open: number };
    };
    const today = o.periods.today;
    assert.equal(today.requests, 5);
    assert.equal(today.failed, 1);
    assert.equal(today.error_rate, 0.2);
    assert.equal(parseMoney(today.revenue), sum("cost"));
    assert.equal(parseMoney(today.upstream_cost), sum("upstream_cost"));
    assert.equal(parseMoney(today.profit), sum("profit"));
    assert.equal(parseMoney(today.profit), sum("cost") - sum("upstream_cost"));
    assert.ok(parseMoney(today.profit) < 0n, "the reported cost made today a loss");
    assert.deepEqual(o.periods.d7, today);
    assert.equal(o.daily.length, 7);
    assert.equal(parseMoney(o.daily.at(-1)!.profit), sum("profit"));
    assert.equal(o.by_model.find((m) => m.model === "t/mini")?.requests, 4);
    assert.equal(o.by_provider.find((p) => p.provider_id === "mock")?.requests, 4);
    assert.equal(o.top_accounts[0]!.account_id, accountId);
    assert.equal(o.top_accounts[0]!.name, "Overview Co");
    assert.equal(o.anomaly_counts.loss, 1);
    assert.equal(o.anomaly_counts.failed, 1);
    assert.deepEqual(o.anomalies.map((a) => a.reason).sort(), ["failed", "loss"]);
    assert.equal(o.holds.open, 0, "every request settled its hold");

    // One row in detail.
    const loss = o.anomalies.find((a) => a.reason === "loss")!;
    const d = (await (await gw.admin(`/admin/logs/${loss.id}`)).json()) as { id: string; account_name: string; upstream_cost: string; cost: string };
    assert.equal(d.account_name, "Overview Co");
    assert.ok(parseMoney(d.upstream_cost) > parseMoney(d.cost));
    assert.equal((await gw.admin("/admin/logs/req_missing")).status, 404);
  });

  test("price table: list price, markup and customer price are what a request is charged", async () => {
    const t = (await (await gw.admin("/admin/tariffs", { body: { name: "Double", markup: "2" } })).json()) as { id: string };
    const table = (await (await gw.admin(`/admin/price-table?tariff_id=${t.id}&model=mini`)).json()) as {
      fx_rate: string;
      tariff: { markup: string };
      data: Array<{ model_id: string; provider_id: string; upstream_usd: { input: string; output: string }; markup: string; upstream_cost: { input: string }; customer_price: { input: string; output: string } }>;
    };
    assert.equal(table.tariff.markup, "2.0");
    assert.equal(table.data.length, 1);
    const row = table.data[0]!;
    assert.equal(row.model_id, "t/mini");
    assert.equal(row.upstream_usd.input, "0.15");
    assert.equal(row.markup, "2.0");
    assert.equal(row.upstream_cost.input, "15.00", "0.15 USD × 100");
    assert.equal(row.customer_price.input, "30.00", "× 2");
    assert.equal(row.customer_price.output, "120.00");
    const def = (await (await gw.admin("/admin/price-table")).json()) as { data: Array<{ model_id: string; customer_price: { input: string } }> };
    assert.equal(def.data.find((r) => r.model_id === "t/mini")?.customer_price.input, "22.50", "default tariff ×1.5");
    assert.equal((await gw.admin("/admin/price-table?tariff_id=trf_missing")).status, 404);
  });

  test("test this upstream: a working provider answers ok, a dead one reports why; no key in the answer; audited", async () => {
    const ok = await gw.admin("/admin/routing/upstream-test", { body: { provider_id: "mock" } });
    assert.equal(ok.status, 200);
    const okBody = (await ok.json()) as { ok: boolean; status: number; upstream_model: string; latency_ms: number };
    assert.equal(okBody.ok, true);
    assert.equal(okBody.status, 200);
    assert.equal(okBody.upstream_model, "gpt-4o-mini");
    assert.equal((mock.stats.lastBody as { max_tokens: number }).max_tokens, 1, "one tiny request");

    const dead = await gw.admin("/admin/routing/upstream-test", { body: { provider_id: "dead" } });
    const deadText = await dead.text();
    assert.equal(dead.status, 200);
    const deadBody = JSON.parse(deadText) as { ok: boolean; status: number | null; error: string };
    assert.equal(deadBody.ok, false);
    assert.equal(deadBody.status, null);
    assert.match(deadBody.error, /connection failed/);
    assert.ok(!deadText.includes("sk-dead-provider-secret"), "no key in the answer");

    mock.configure({ status: 401, error_message: "Invalid key sk-mock-provider-secret-123", times: 1 });
    const denied = await gw.admin("/admin/routing/upstream-test", { body: { provider_id: "mock", model: "other-model" } });
    const deniedText = await denied.text();
    const deniedBody = JSON.parse(deniedText) as { ok: boolean; status: number; error: string; upstream_model: string };
    assert.equal(deniedBody.ok, false);
    assert.equal(deniedBody.status, 401);
    assert.equal(deniedBody.upstream_model, "other-model");
    assert.ok(!deniedText.includes("sk-mock-provider-secret-123"), "an upstream echoing the key is scrubbed");

    assert.equal((await gw.admin("/admin/routing/upstream-test", { body: { provider_id: "nope" } })).status, 404);
    assert.equal((await gw.admin("/admin/routing/upstream-test", { body: { provider_id: "mock", upstream_account_id: "ua_nope" } })).status, 404);
    const audit = await gw.gateway.deps.db.select().from(auditLog).where(and(eq(auditLog.action, "routing.upstream.test"), eq(auditLog.targetId, "dead")));
    assert.equal(audit.length, 1);
    assert.equal((audit[0]!.after as { ok: boolean }).ok, false);
  });

  test("referral commissions list reads the ledger (bonus and its reversal), filterable by inviter", async () => {
    const inviter = await gw.createAccountWithKey({ name: "Inviter", balance: "0" });
    const other = await gw.createAccountWithKey({ name: "Other", balance: "0" });
    await gw.gateway.deps.db.transaction(async (tx) => {
      await postLedgerEntry(tx, { accountId: inviter.accountId, kind: "referral_bonus", amountMicros: 5_000_000n, ref: "pay_1", reason: "test", meta: { inviteeAccountId: other.accountId, paymentId: "pay_1" } });
      await postLedgerEntry(tx, { accountId: inviter.accountId, kind: "referral_reversal", amountMicros: -5_000_000n, ref: "pay_1:rev", reason: "test", meta: { inviteeAccountId: other.accountId, paymentId: "pay_1" } }, { allowNegative: true });
      await postLedgerEntry(tx, { accountId: other.accountId, kind: "adjustment", amountMicros: 1_000_000n, ref: "adj:other", reason: "not a commission" });
    });
    const r = await gw.admin(`/admin/referral-commissions?account_id=${inviter.accountId}`);
    assert.equal(r.status, 200);
    const b = (await r.json()) as { currency: string; data: Array<{ kind: string; amount: string; inviter_name: string; invitee_account_id: string; payment_id: string }> };
    assert.equal(b.currency, "RUB");
    assert.deepEqual(b.data.map((x) => [x.kind, x.amount]).sort(), [["referral_bonus", "5.00"], ["referral_reversal", "-5.00"]]);
    assert.ok(b.data.every((x) => x.inviter_name === "Inviter" && x.invitee_account_id === other.accountId && x.payment_id === "pay_1"));
    const none = (await (await gw.admin(`/admin/referral-commissions?account_id=${other.accountId}`)).json()) as { data: unknown[] };
    assert.equal(none.data.length, 0);
  });
});
