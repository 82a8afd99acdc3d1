import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import { apiKeys, ledgerEntries } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { FakeYooKassa } from "../helpers/fake-yookassa.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { PRICED_MODELS } from "./helpers/gateway.js";

/**
 * The server side of the customer dashboard, without a browser: the `web` session mode, the
 * session accepted on the usage views and (through the Playground key) on chat, customer prices,
 * the filtered log and its CSV, ledger, orders, referrals, profile and password.
 */
describeEachDb("customer dashboard API", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let mock: OpenAIUpstream;
  let yoo: FakeYooKassa;
  const PASSWORD = "correct horse battery";

  const req = async (path: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}) => {
    const r = await fetch(gw.url + path, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { "content-type": "application/json", ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.headers ?? {}) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await r.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* CSV */
    }
    return { status: r.status, body, headers: r.headers };
  };
  const register = async (email: string, extra: Record<string, unknown> = {}) => {
    const r = await req("/v1/auth/register", { body: { email, password: PASSWORD, session: "web", ...extra } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return { token: r.body.access_token as string, accountId: r.body.account.id as string, userId: r.body.user.id as string, cookies: r.headers.getSetCookie() };
  };
  const credit = (accountId: string, amount: string) => gw.admin(`/admin/accounts/${accountId}/adjustments`, { body: { amount, reason: "test credit" } });

  before(async () => {
    db = await createDb();
    mock = await startOpenAIUpstream();
    yoo = new FakeYooKassa();
    await yoo.start();
    gw = await startTestGateway({
      database: db,
      config: { providers: [{ id: "mock", type: "openai", base_url: mock.baseUrl, api_key: "sk-mock-upstream-secret" }], models: PRICED_MODELS },
      env: { USD_RATE: "100", DEFAULT_MARKUP: "1.5", REFERRAL_PERCENT: "10", YOOKASSA_SHOP_ID: yoo.shopId, YOOKASSA_SECRET_KEY: yoo.secretKey, YOOKASSA_API_ROOT: yoo.apiRoot, YOOKASSA_IP_ALLOWLIST: "127.0.0.1,::1" },
    });
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await yoo?.close();
    await db?.drop();
  });

  test("session \"web\": access token in the body only, refresh token only as an httpOnly cookie; refresh needs the CSRF header", async () => {
    const r = await req("/v1/auth/register", { body: { email: "web@example.com", password: PASSWORD, session: "web" } });
    assert.equal(r.status, 201);
    assert.equal(r.body.token_type, "Bearer");
    assert.ok(r.body.access_token);
    assert.equal(r.body.refresh_token, undefined, "no refresh token readable by the page");
    const cookies = r.headers.getSetCookie();
    const rt = cookies.find((c) => c.startsWith("lg_rt="))!;
    assert.match(rt, /HttpOnly/i);
    assert.match(rt, /Path=\/v1\/auth/);
    assert.ok(cookies.some((c) => c.startsWith("lg_csrf=") && !/HttpOnly/i.test(c)));
    assert.equal(cookies.some((c) => c.startsWith("lg_at=")), false, "no access-token cookie");
    const jar = cookies.map((c) => c.split(";")[0]).join("; ");
    const csrf = /lg_csrf=([^;]+)/.exec(jar)![1]!;

    const noCsrf = await req("/v1/auth/refresh", { body: { session: "web" }, headers: { cookie: jar } });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, "csrf_failed");
    const ok = await req("/v1/auth/refresh", { body: { session: "web" }, headers: { cookie: jar, "x-csrf-token": csrf } });
    assert.equal(ok.status, 200);
    assert.ok(ok.body.access_token && ok.body.access_token !== r.body.access_token);
    assert.equal(ok.body.refresh_token, undefined);
    const me = await req("/v1/auth/me", { token: ok.body.access_token });
    assert.equal(me.body.user.email, "web@example.com");
  });

  test("a session reads the account views that used to answer 401; key-only routes still want a key", async () => {
    const u = await register("views@example.com");
    assert.equal((await credit(u.accountId, "100.00")).status, 200);
    for (const path of ["/v1/client/balance", "/v1/client/usage", "/v1/client/usage/daily?days=30", "/v1/client/models/usage", "/v1/client/recent-requests", "/limits", "/usage"]) {
      const r = await req(path, { token: u.token });
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    }
    assert.equal((await req("/v1/client/balance", { token: u.token })).body.balance, "100.00");
    assert.equal((await req("/v1/client/balance")).status, 401);
    assert.equal((await req("/v1/client/balance", { token: "not.a.jwt" })).status, 401);
    assert.equal((await req("/v1/key", { token: u.token })).status, 401, "/v1/key describes a key");
  });

  test("chat with a session goes through one Playground key and is billed and logged like a key's request", async () => {
    const u = await register("play@example.com");
    await credit(u.accountId, "50.00");
    const body = { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };
    const a = await req("/v1/chat/completions", { token: u.token, body });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const b = await req("/v1/chat/completions", { token: u.token, body: { ...body, stream: true, stream_options: { include_usage: true } } });
    assert.equal(b.status, 200);
    assert.match(b.body, /"cost":/);
    const keys = await db.db.select().from(apiKeys).where(eq(apiKeys.accountId, u.accountId));
    assert.equal(keys.length, 1, "one playground key, reused");
    assert.equal(keys[0]!.name, "Playground");
    assert.deepEqual(keys[0]!.scopes, ["inference"]);
    await gw.gateway.deps.logs.flush();
    // Leased charges reach the ledger with the next batch (flush: now).
    await gw.gateway.deps.billing.flush();
    const id = a.headers.get("x-request-id")!;
    const g = await req(`/v1/generation?id=${id}`, { token: u.token });
    assert.equal(g.status, 200);
    assert.equal(Number(g.body.data.total_cost), a.body.usage.cost, "billed what usage.cost said");
    const ledger = await db.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.accountId, u.accountId), eq(ledgerEntries.kind, "usage")));
    assert.equal(ledger.length, 2);
    // An empty account gets the usual 402, not a session error.
    const poor = await register("poor@example.com");
    const r = await req("/v1/chat/completions", { token: poor.token, body });
    assert.equal(r.status, 402);
    assert.equal(r.body.error.code, "insufficient_quota");
  });

  test("customer prices: the tariff's markup at the USD rate, per 1M tokens in the account currency", async () => {
    const u = await register("prices@example.com");
    const p = await req("/v1/client/prices", { token: u.token });
    assert.equal(p.status, 200);
    assert.equal(p.body.currency, "RUB");
    const mini = p.body.data.find((m: { id: string }) => m.id === "openai/gpt-4o-mini");
    // 0.15 USD × 100 × 1.5 = 22.50; 0.60 × 100 × 1.5 = 90.00
    assert.deepEqual([mini.input_per_1m, mini.output_per_1m, mini.context_length, mini.type], ["22.50", "90.00", 128000, "chat"]);
    assert.equal(p.body.data.find((m: { id: string }) => m.id === "openai/text-embedding-3-small").type, "embedding");
    assert.equal(JSON.stringify(p.body).includes("0.15"), false, "no upstream cost in the customer's table");
    // A tariff with markup 2 that allows only gpt-4o*.
    const t = await gw.admin("/admin/tariffs", { body: { name: "Pro", markup: "2", allowed_models: ["openai/gpt-4o*"] } });
    assert.equal(t.status, 201, await t.clone().text());
    const tariffId = ((await t.json()) as { id: string }).id;
    assert.equal((await gw.admin(`/admin/accounts/${u.accountId}/tariff`, { method: "PUT", body: { tariff_id: tariffId } })).status, 200);
    const q = await req("/v1/client/prices?q=mini", { token: u.token });
    assert.equal(q.body.tariff.name, "Pro");
    assert.deepEqual(q.body.data.map((m: { id: string; input_per_1m: string }) => [m.id, m.input_per_1m]), [["openai/gpt-4o-mini", "30.00"]]);
    const all = await req("/v1/client/prices", { token: u.token });
    assert.equal(all.body.data.some((m: { id: string }) => m.id.includes("embedding")), false, "models outside the tariff are not offered");
  });

  test("request log with filters and pages, CSV of the same rows; another account's key id finds nothing", async () => {
    const u = await register("log@example.com");
    await credit(u.accountId, "50.00");
    const mk = await req("/v1/auth/api-keys", { token: u.token, body: { name: "k1" } });
    const client = gw.openai(mk.body.secret);
    const costs: number[] = [];
    for (const model of ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4o-mini"]) {
      const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: `=cmd|' /C calc'!A0 ${model}` }] });
      costs.push((r.usage as unknown as { cost: number }).cost);
    }
    await gw.gateway.deps.logs.flush();
    const all = await req(`/v1/client/requests?key_id=${mk.body.id}`, { token: u.token });
    assert.equal(all.body.data.length, 3);
    assert.equal("upstream_cost" in all.body.data[0], false, "no upstream cost for customers");
    assert.equal("profit" in all.body.data[0], false);
    const p1 = await req(`/v1/client/requests?limit=2`, { token: u.token });
    const p2 = await req(`/v1/client/requests?limit=2&cursor=${p1.body.next_cursor}`, { token: u.token });
    assert.deepEqual([p1.body.data.length, p2.body.data.length, p2.body.next_cursor], [2, 1, null]);
    const mini = await req(`/v1/client/requests?model=openai/gpt-4o-mini`, { token: u.token });
    assert.equal(mini.body.data.length, 2);
    const future = await req(`/v1/client/requests?from=2999-01-01T00:00:00Z`, { token: u.token });
    assert.equal(future.body.data.length, 0);
    assert.equal((await req(`/v1/client/requests?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, { token: u.token })).status, 400);
    assert.equal((await req(`/v1/client/requests?status=weird`, { token: u.token })).status, 400);

    const csv = await req(`/v1/client/requests.csv?key_id=${mk.body.id}`, { token: u.token });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get("content-type")!, /text\/csv/);
    assert.match(csv.headers.get("content-disposition")!, /attachment; filename="requests-\d{4}-\d{2}-\d{2}\.csv"/);
    const [head, ...rows] = (csv.body as string).trim().split("\r\n");
    const cols = head!.split(",");
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((r) => Number(r.split(",")[cols.indexOf("cost")])).sort(), [...costs].sort());

    const other = await register("other-log@example.com");
    // Another account's key id answers like an unknown one (the authorization matrix's rule): 404, none of its rows.
    assert.equal((await req(`/v1/client/requests?key_id=${mk.body.id}`, { token: other.token })).status, 404);
    assert.equal((await req(`/v1/client/requests.csv?key_id=${mk.body.id}`, { token: other.token })).status, 404);
    assert.equal((await req(`/v1/generation?id=${all.body.data[0].id}`, { token: other.token })).status, 404);
  });

  test("ledger, top-up orders and referrals: sign-up with an invite code, commission on the invitee's payment", async () => {
    const inviter = await register("inviter@example.com");
    const r = await req("/v1/client/referrals", { token: inviter.token });
    assert.equal(r.status, 200);
    assert.match(r.body.web_link, new RegExp(`/dashboard/signup\\?ref=${r.body.code}$`));
    assert.equal(r.body.percent, "10");
    const invitee = await register("invitee@example.com", { referral_code: r.body.code });
    await register("stranger@example.com", { referral_code: "NoSuchCode1" });
    const t = await req("/v1/payments/yookassa", { token: invitee.token, body: { amount: "500.00", return_url: `${gw.url}/dashboard/billing` } });
    assert.equal(t.status, 201);
    yoo.setStatus(t.body.payment_id, "succeeded");
    const n = await fetch(`${gw.url}/payments/yookassa/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "notification", event: "payment.succeeded", object: { id: t.body.payment_id, status: "succeeded", amount: { value: "500.00", currency: "RUB" } } }),
    });
    assert.equal(n.status, 200);

    const orders = await req("/v1/client/payments", { token: invitee.token });
    assert.deepEqual(orders.body.data.map((o: { status: string; amount: string; credits: string }) => [o.status, o.amount, o.credits]), [["paid", "500.00", "500.00"]]);
    const ledger = await req("/v1/client/ledger", { token: invitee.token });
    assert.deepEqual(ledger.body.data.map((e: { kind: string; amount: string; balance_after: string }) => [e.kind, e.amount, e.balance_after]), [["topup", "500.00", "500.00"]]);
    assert.deepEqual((await req("/v1/client/payments", { token: inviter.token })).body.data, [], "the inviter sees no one else's orders");

    const after = await req("/v1/client/referrals", { token: inviter.token });
    assert.equal(after.body.invitees, 1, "the unknown code was ignored");
    assert.equal(after.body.earned, "50.00");
    assert.deepEqual(after.body.invited.map((i: { label: string; earned: string }) => [i.label, i.earned]), [["i***@example.com", "50.00"]]);
    assert.equal(after.body.commissions.length, 1);
    assert.equal(after.body.commissions[0].kind, "referral_bonus");
  });

  test("profile and password: a changed password ends the user's other sessions, keeps this one", async () => {
    const u = await register("pw@example.com");
    const second = await req("/v1/auth/login", { body: { email: "pw@example.com", password: PASSWORD, session: "token" } });
    assert.equal(second.status, 200);
    const prof = await req("/v1/auth/profile", { method: "PATCH", token: u.token, body: { name: "Pat", locale: "en" } });
    assert.deepEqual([prof.status, prof.body.name, prof.body.locale], [200, "Pat", "en"]);
    assert.equal((await req("/v1/auth/profile", { method: "PATCH", token: u.token, body: { locale: "de" } })).status, 400);
    const wrong = await req("/v1/auth/password", { token: u.token, body: { current_password: "nope nope nope", new_password: "another good one" } });
    assert.deepEqual([wrong.status, wrong.body.error.code], [401, "invalid_credentials"]);
    assert.equal((await req("/v1/auth/password", { token: u.token, body: { current_password: PASSWORD, new_password: "short" } })).status, 400);
    const ok = await req("/v1/auth/password", { token: u.token, body: { current_password: PASSWORD, new_password: "another good one" } });
    assert.deepEqual([ok.status, ok.body.other_sessions_ended], [200, 1]);
    assert.equal((await req("/v1/auth/me", { token: second.body.access_token })).status, 401, "the other session ended");
    assert.equal((await req("/v1/auth/me", { token: u.token })).status, 200, "this one goes on");
    assert.equal((await req("/v1/auth/login", { body: { email: "pw@example.com", password: PASSWORD } })).status, 401);
    assert.equal((await req("/v1/auth/login", { body: { email: "pw@example.com", password: "another good one" } })).status, 200);
    assert.equal((await req("/v1/auth/password", { body: { new_password: "x" } })).status, 401, "needs a session");
  });

  test("/v1/web/config: public settings, no secrets", async () => {
    const r = await req("/v1/web/config");
    assert.equal(r.status, 200);
    assert.equal(r.body.base_path, "/dashboard");
    assert.equal(r.body.currency, "RUB");
    assert.equal(r.body.payments.yookassa.enabled, true);
    assert.equal(r.body.payments.yookassa.min_amount, "100.00");
    assert.doesNotMatch(JSON.stringify(r.body), new RegExp(yoo.secretKey));
  });
});
