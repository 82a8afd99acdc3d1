import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { paymentOrders } from "../../src/db/schema/index.js";
import { startPayments, type PaymentsHandle } from "../../src/main/payments.js";
import { balanceOf } from "../bot/harness.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { BOT_INFO, BOT_TOKEN, FakeTelegram, paymentUpdate, preCheckoutUpdate, textUpdate, tgUser } from "../helpers/fake-telegram.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const SECRET = "tg-webhook-secret_payment-link-test";

/** The web top-up page's "pay in Telegram": POST /v1/payments/telegram/link against a fake Bot API. */
describeEachDb("Telegram payment link for the web top-up page", (_kind, create) => {
  let database: TestDatabase;
  let tg: FakeTelegram;
  let gw: TestGateway;
  let payments: PaymentsHandle | null = null;
  let token = "";
  let accountId = "";
  const payer = tgUser(7100001, "ru", "Вера");

  const link = async (body: unknown, auth: string | null = token) => {
    const r = await fetch(`${gw.url}/v1/payments/telegram/link`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as any };
  };
  const hook = async (update: unknown) => {
    const r = await fetch(`${gw.url}/telegram/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET }, body: JSON.stringify(update) });
    assert.equal(r.status, 200);
  };

  before(async () => {
    database = await create();
    tg = new FakeTelegram();
    await tg.start();
    gw = await startTestGateway({
      database,
      env: {
        TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        TELEGRAM_BOT_USERNAME: BOT_INFO.username,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        TELEGRAM_API_ROOT: tg.apiRoot,
        TELEGRAM_MODE: "webhook",
        TELEGRAM_SET_WEBHOOK: "false",
        PAYMENTS_STAR_PACKAGES: "100,500",
        PAYMENTS_STAR_RATE: "1.5",
      },
    });
    const reg = await fetch(`${gw.url}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "vera@example.com", password: "vera-password-1" }) });
    const s = (await reg.json()) as any;
    token = s.access_token;
    accountId = s.account.id;
  });
  after(async () => {
    await payments?.stop();
    await gw?.stop();
    await tg?.close();
    await database?.drop();
  });

  test("without a running bot: 503 service_unavailable; without a session: 401", async () => {
    const r = await link({ package_id: "s100" });
    assert.equal(r.status, 503, JSON.stringify(r.json));
    assert.equal(r.json.error.code, "service_unavailable");
    assert.equal((await link({ package_id: "s100" }, null)).status, 401);
    payments = await startPayments(gw.gateway.deps, { botInfo: BOT_INFO, jobs: false });
  });

  test("no linked Telegram: the answer is the bot's link-this-account deep link; after /start link_… the user is linked", async () => {
    const r = await link({ package_id: "s100" });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json.kind, "link_telegram");
    assert.equal(r.json.order_id, null);
    assert.match(r.json.start_param, /^link_/);
    assert.equal(r.json.url, `https://t.me/${BOT_INFO.username}?start=${r.json.start_param}`);
    assert.equal(tg.callsOf("createInvoiceLink").length, 0, "no invoice for an account Telegram can't pay into");
    await hook(textUpdate(payer, `/start ${r.json.start_param}`));
    const me = (await (await fetch(`${gw.url}/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
    assert.equal(me.user.telegram_id, payer.id);
  });

  test("linked: a Stars invoice link bound to that Telegram user; only they can pay it, and it credits the web account", async () => {
    tg.clear();
    const r = await link({ package_id: "s100", locale: "ru" });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json.kind, "invoice");
    assert.match(r.json.url, /^https:\/\/t\.me\/\$fakeInvoice/);
    const [call] = tg.callsOf("createInvoiceLink");
    assert.ok(call, "createInvoiceLink was called");
    assert.equal(call.payload.payload, r.json.order_id);
    assert.equal(call.payload.currency, "XTR");
    assert.equal(call.payload.provider_token, "");
    assert.deepEqual(call.payload.prices.map((p: { amount: number }) => p.amount), [100]);
    assert.match(call.payload.description, /150,00/, "Russian invoice text with the credits");
    const [order] = await database.db.select().from(paymentOrders).where(eq(paymentOrders.id, r.json.order_id));
    assert.equal(order!.accountId, accountId);
    assert.equal(order!.telegramId, payer.id);
    assert.equal(order!.expiresAt.toISOString(), r.json.expires_at);

    // Someone else who got the link is refused at pre-checkout; the payer is accepted and credited.
    tg.clear();
    await hook(preCheckoutUpdate(tgUser(7100999), { payload: r.json.order_id, amount: 100 }));
    assert.equal(tg.callsOf("answerPreCheckoutQuery")[0]!.payload.ok, false);
    await hook(preCheckoutUpdate(payer, { payload: r.json.order_id, amount: 100 }));
    assert.equal(tg.callsOf("answerPreCheckoutQuery")[1]!.payload.ok, true);
    const before = await balanceOf(database.db, accountId);
    await hook(paymentUpdate(payer, { payload: r.json.order_id, amount: 100, chargeId: "stxWebLink1" }));
    assert.equal((await balanceOf(database.db, accountId)) - before, 1_500_000n * 100n);
    const o = (await (await fetch(`${gw.url}/v1/payments/orders/${r.json.order_id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
    assert.equal(o.status, "paid");
  });

  test("an unknown package is a 400 on package_id; Telegram refusing the link is a 503 and the order is canceled", async () => {
    const bad = await link({ package_id: "s999" });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, "invalid_request");
    assert.equal(bad.json.error.param, "package_id");
    tg.failNext("createInvoiceLink", 400, "Bad Request: STARS_INVOICE_INVALID");
    const down = await link({ package_id: "s500" });
    assert.equal(down.status, 503, JSON.stringify(down.json));
    assert.equal(down.json.error.code, "service_unavailable");
    assert.ok(!JSON.stringify(down.json).includes(BOT_TOKEN));
    const rows = await database.db.select().from(paymentOrders).where(eq(paymentOrders.accountId, accountId));
    const s500 = rows.filter((o) => o.packageId === "s500");
    assert.equal(s500.length, 1);
    assert.equal(s500[0]!.status, "canceled");
  });
});
