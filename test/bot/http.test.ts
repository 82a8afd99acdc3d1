import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import { accounts, auditLog, ledgerEntries } from "../../src/db/schema/index.js";
import { startPayments, type PaymentsHandle } from "../../src/main/payments.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { BOT_INFO, BOT_TOKEN, FakeTelegram, callbackUpdate, paymentUpdate, preCheckoutUpdate, textUpdate, tgUser } from "../helpers/fake-telegram.js";
import { FakeYooKassa } from "../helpers/fake-yookassa.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { accountIdOf, balanceOf, ledgerCount } from "./harness.js";

const SECRET = "tg-webhook-secret_abcdefghijklmnop";

describeEachDb("telegram and payments over HTTP (real app)", (kind, create) => {
  let database: TestDatabase;
  let tg: FakeTelegram;
  let yoo: FakeYooKassa;
  let gw: TestGateway;
  let payments: PaymentsHandle;
  before(async () => {
    database = await create();
    tg = new FakeTelegram();
    await tg.start();
    yoo = new FakeYooKassa();
    await yoo.start();
    gw = await startTestGateway({
      database,
      env: {
        TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        TELEGRAM_API_ROOT: tg.apiRoot,
        TELEGRAM_MODE: "webhook",
        TELEGRAM_SET_WEBHOOK: "false",
        YOOKASSA_SHOP_ID: yoo.shopId,
        YOOKASSA_SECRET_KEY: yoo.secretKey,
        YOOKASSA_API_ROOT: yoo.apiRoot,
        YOOKASSA_RETURN_URL: "https://gw.example.com/back",
        YOOKASSA_TRUSTED_PROXY_HOPS: "1",
      },
    });
    payments = await startPayments(gw.gateway.deps, { botInfo: BOT_INFO, jobs: false });
  });
  after(async () => {
    await payments.stop();
    await gw.stop();
    await tg.close();
    await yoo.close();
    await database.drop();
  });

  const hook = (body: unknown, secret?: string) =>
    fetch(`${gw.url}/telegram/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(secret === undefined ? {} : { "x-telegram-bot-api-secret-token": secret }) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  test("POST /telegram/webhook: no secret → 401, wrong secret → 401, right secret → 200", async () => {
    const u = tgUser(6001);
    tg.clear();
    const none = await hook(textUpdate(u, "/start"));
    assert.equal(none.status, 401);
    const e = (await none.json()) as { error: { code: string; request_id: string } };
    assert.equal(e.error.code, "invalid_token");
    assert.ok(e.error.request_id);
    const wrong = await hook(textUpdate(u, "/start"), SECRET.slice(0, -1) + "Q");
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();
    // Only the start-up command menu (setMyCommands, sent in the background) may have reached Telegram.
    assert.equal(tg.calls.filter((c) => c.method !== "setMyCommands").length, 0);
    const ok = await hook(textUpdate(u, "/start"), SECRET);
    assert.equal(ok.status, 200);
    assert.equal(tg.callsOf("sendMessage").length, 1);
    await accountIdOf(database.db, u.id);
  });

  test("malformed updates get 200 and the bot keeps working", async () => {
    for (const body of ["{oops", "[1,2]", '{"no_update_id":true}']) {
      const r = await hook(body, SECRET);
      assert.equal(r.status, 200, body);
    }
    const u = tgUser(6002, "ru");
    tg.clear();
    assert.equal((await hook(textUpdate(u, "/help"), SECRET)).status, 200);
    assert.match(String(tg.callsOf("sendMessage")[0]!.payload.text), /^Бот LLM Gateway/);
  });

  test("full flow over the webhook; 10 concurrent deliveries of one payment credit once", async () => {
    const u = tgUser(6003);
    await hook(textUpdate(u, "/start"), SECRET);
    const acct = await accountIdOf(database.db, u.id);
    await hook(callbackUpdate(u, "pay:s250"), SECRET);
    const inv = tg.callsOf("sendInvoice").at(-1)!.payload;
    assert.equal(inv.currency, "XTR");
    tg.clear();
    assert.equal((await hook(preCheckoutUpdate(u, { payload: inv.payload, amount: 250 }), SECRET)).status, 200);
    assert.equal(tg.callsOf("answerPreCheckoutQuery")[0]!.payload.ok, true);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => hook(paymentUpdate(u, { payload: inv.payload, amount: 250, chargeId: `ch_http_${kind}` }), SECRET).then((r) => r.status)),
    );
    assert.deepEqual(statuses, Array(10).fill(200));
    assert.equal(await ledgerCount(database.db, "topup", `tg_stars:ch_http_${kind}`), 1);
    assert.equal(await balanceOf(database.db, acct), 375_000_000n);
    assert.equal(tg.texts().length, 1);
  });

  test("admin: payments list, manual refund (audited, once), reconciliation report and run", async () => {
    const list = (await (await gw.admin(`/admin/payments?provider=tg_stars`)).json()) as { data: { id: string; provider_payment_id: string; amount: string; credits: string; status: string }[] };
    const p = list.data.find((x) => x.provider_payment_id === `ch_http_${kind}`)!;
    assert.equal(p.amount, "250");
    assert.equal(p.credits, "375.00");
    const orders = (await (await gw.admin(`/admin/payments/orders?status=paid`)).json()) as { data: unknown[] };
    assert.ok(orders.data.length >= 1);

    tg.addIncomingStars({ chargeId: `ch_http_${kind}`, amount: 250, user: tgUser(6003), payload: "x" });
    const r1 = await gw.admin(`/admin/payments/${p.id}/refund`, { body: { reason: "customer asked" } });
    assert.equal(r1.status, 200, await r1.clone().text());
    const b1 = (await r1.json()) as { status: string; debited: string; balance_after: string };
    assert.equal(b1.status, "refunded");
    assert.equal(b1.debited, "375.00");
    assert.equal(b1.balance_after, "0.00");
    const r2 = await gw.admin(`/admin/payments/${p.id}/refund`, { body: {} });
    assert.equal(((await r2.json()) as { status: string }).status, "already_refunded");
    assert.equal(tg.callsOf("refundStarPayment").length, 1);
    const debits = await database.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "payment_refund"), eq(ledgerEntries.ref, `tg_stars:ch_http_${kind}`)));
    assert.equal(debits.length, 1);
    assert.equal(debits[0]!.actor, "admin:token");
    const audits = await database.db.select().from(auditLog).where(eq(auditLog.targetId, p.id));
    assert.deepEqual(audits.map((a) => [a.action, a.actor]), [["payment.refund", "admin:token"], ["payment.refund", "admin:token"]]);
    assert.equal((await gw.admin(`/admin/payments/pay_nope/refund`, { body: {} })).status, 404);

    const rep = (await (await gw.admin("/admin/payments/reconciliation")).json()) as { consistency: Record<string, unknown> };
    assert.equal(rep.consistency.credited_without_ledger, 0);
    assert.equal(rep.consistency.refunded_without_ledger, 0);
    const run = await gw.admin("/admin/payments/reconciliation/run", { method: "POST" });
    assert.equal(run.status, 200);
    const runBody = (await run.json()) as { stars: { scanned: number; alreadyCredited: number } };
    assert.equal(runBody.stars.scanned, 2);
    assert.equal(await ledgerCount(database.db, "payment_refund", `tg_stars:ch_http_${kind}`), 1);
    const noAuth = await fetch(`${gw.url}/admin/payments`);
    assert.equal(noAuth.status, 401);
  });

  test("YooKassa over HTTP: create with redirect; notifications from foreign IPs refused; fetched-back status decides; once", async () => {
    const acct = (await gw.createAccountWithKey({ balance: "0" })).accountId;
    const c = await fetch(`${gw.url}/v1/payments/yookassa`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ amount: "700.00", account_id: acct }),
    });
    assert.equal(c.status, 201, await c.clone().text());
    const t = (await c.json()) as { order_id: string; payment_id: string; confirmation_url: string; credits: string };
    assert.match(t.confirmation_url, /^https:\/\/yoomoney\.example\/checkout/);
    assert.equal(t.credits, "700.00");
    const create = yoo.requests.find((r) => r.path === "/payments" && r.method === "POST")!;
    assert.ok(create.idempotenceKey);

    const notify = (xff?: string) =>
      fetch(`${gw.url}/payments/yookassa/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(xff ? { "x-forwarded-for": xff } : {}) },
        body: JSON.stringify({ type: "notification", event: "payment.succeeded", object: { id: t.payment_id, status: "succeeded" } }),
      });
    const gets = yoo.gets();
    assert.equal((await notify()).status, 403);
    assert.equal((await notify("185.71.76.5, 203.0.113.9")).status, 403, "the spoofable first hop is ignored");
    assert.equal(yoo.gets(), gets, "nothing fetched for refused senders");
    const pending = await notify("203.0.113.9, 185.71.76.5");
    assert.equal(pending.status, 200);
    assert.deepEqual(await pending.json(), { status: "not_succeeded" });
    assert.equal(await balanceOf(database.db, acct), 0n);
    yoo.setStatus(t.payment_id, "succeeded");
    const results = await Promise.all([notify("185.71.76.5"), notify("185.71.76.5"), notify("77.75.156.11")]);
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
    assert.deepEqual((await Promise.all(results.map((r) => r.json()))).map((b) => (b as { status: string }).status).sort(), ["credited", "duplicate", "duplicate"]);
    assert.equal(await balanceOf(database.db, acct), 700_000_000n);
    const o = await gw.admin(`/v1/payments/orders/${t.order_id}`);
    assert.equal(((await o.json()) as { status: string }).status, "paid");
  });

  test("a YooKassa top-up of a referred customer tells the inviter in Telegram (the running bot's notice reaches the webhook path)", async () => {
    const inviter = tgUser(kind === "pglite" ? 6101 : 6201);
    await hook(textUpdate(inviter, "/start"), SECRET);
    const code = (await database.db.select({ c: accounts.referralCode }).from(accounts).where(eq(accounts.id, await accountIdOf(database.db, inviter.id))))[0]!.c!;
    const invitee = tgUser(inviter.id + 1);
    await hook(textUpdate(invitee, `/start ref_${code}`), SECRET);
    const c = await fetch(`${gw.url}/v1/payments/yookassa`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ amount: "300.00", account_id: await accountIdOf(database.db, invitee.id) }),
    });
    assert.equal(c.status, 201, await c.clone().text());
    const t = (await c.json()) as { payment_id: string };
    yoo.setStatus(t.payment_id, "succeeded");
    tg.clear();
    const r = await fetch(`${gw.url}/payments/yookassa/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "185.71.76.5" },
      body: JSON.stringify({ type: "notification", event: "payment.succeeded", object: { id: t.payment_id, status: "succeeded" } }),
    });
    assert.deepEqual(await r.json(), { status: "credited" });
    const notices = tg.callsOf("sendMessage").filter((m) => m.payload.chat_id === inviter.id);
    assert.equal(notices.length, 1);
    assert.match(String(notices[0]!.payload.text), /^Referral commission: \+.30\.00 from a friend's top-up/);
  });

  test("the new routes are in /openapi.json", async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const p of ["/telegram/webhook", "/v1/payments/yookassa", "/payments/yookassa/webhook", "/admin/payments", "/admin/payments/{id}/refund", "/admin/payments/reconciliation"]) {
      assert.ok(doc.paths[p], p);
    }
  });
});
