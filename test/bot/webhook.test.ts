import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bot } from "grammy";
import { eq } from "drizzle-orm";
import { handleTelegramWebhook, secretMatches, setTelegramWebhook } from "../../src/bot/webhook.js";
import { telegramUpdates } from "../../src/db/schema/index.js";
import { describeEachDb } from "../helpers/db.js";
import { BOT_INFO, BOT_TOKEN, paymentUpdate, textUpdate, tgUser } from "../helpers/fake-telegram.js";
import { accountIdOf, balanceOf, ledgerCount, requestInvoice, startHarness, type Harness } from "./harness.js";

const SECRET = "webhook-secret_0123456789-ABC";

test("secretMatches: exact match only, no secret configured matches nothing", () => {
  assert.equal(secretMatches(SECRET, SECRET), true);
  assert.equal(secretMatches(SECRET, SECRET.slice(0, -1) + "D"), false);
  assert.equal(secretMatches(SECRET, SECRET + "x"), false);
  assert.equal(secretMatches(SECRET, ""), false);
  assert.equal(secretMatches(SECRET, undefined), false);
  assert.equal(secretMatches(undefined, "anything"), false);
  assert.equal(secretMatches("", ""), false);
});

describeEachDb("telegram webhook handler", (kind, create) => {
  let h: Harness;
  before(async () => {
    h = await startHarness(create);
  });
  after(async () => {
    await h.close();
  });
  const call = (secretHeader: string | undefined, body: string) =>
    handleTelegramWebhook(h.bot, { secretHeader, body }, { secret: SECRET, logger: h.logger, db: h.db });

  test("no secret → 401, wrong secret → 401 (update not handled), right secret → 200", async () => {
    const u = tgUser(4001);
    h.tg.clear();
    const upd = JSON.stringify(textUpdate(u, "/start"));
    assert.deepEqual(await call(undefined, upd), { status: 401, result: "unauthorized" });
    assert.deepEqual(await call(SECRET.slice(0, -1) + "X", upd), { status: 401, result: "unauthorized" });
    assert.equal(h.tg.calls.length, 0, "the bot never saw the unauthenticated updates");
    await assert.rejects(accountIdOf(h.db, u.id));
    assert.deepEqual(await call(SECRET, upd), { status: 200, result: "handled" });
    assert.equal(h.tg.callsOf("sendMessage").length, 1);
  });

  test("malformed updates get 200 and are logged; the bot keeps working", async () => {
    const before = h.logs.length;
    for (const body of ["{not json", "[]", "null", '{"message":{}}', '{"update_id":"x"}', ""]) {
      assert.deepEqual(await call(SECRET, body), { status: 200, result: "malformed" }, body);
    }
    const warned = h.logs.slice(before).filter((l) => l.msg === "telegram webhook: malformed update acknowledged");
    assert.equal(warned.length, 6);
    // An update with a valid id but a shape the handlers choke on is acknowledged too.
    const weird = { update_id: 990001, message: { message_id: 1, date: 1, chat: { id: 1, type: "private" }, text: "/start" } };
    const r = await call(SECRET, JSON.stringify(weird));
    assert.equal(r.status, 200);
    const u = tgUser(4002);
    assert.equal((await call(SECRET, JSON.stringify(textUpdate(u, "/start")))).status, 200);
    await accountIdOf(h.db, u.id);
  });

  test("a redelivered update_id is acknowledged without running again; payments stay exactly-once anyway", async () => {
    const u = tgUser(4003);
    await call(SECRET, JSON.stringify(textUpdate(u, "/start")));
    const acct = await accountIdOf(h.db, u.id);
    const { orderId } = await requestInvoice(h, u, "s100");
    const body = JSON.stringify(paymentUpdate(u, { payload: orderId, amount: 100, chargeId: `ch_${kind}_wh` }));
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await call(SECRET, body));
    results.push(...(await Promise.all([0, 1, 2].map(() => call(SECRET, JSON.stringify(paymentUpdate(u, { payload: orderId, amount: 100, chargeId: `ch_${kind}_wh` })))))));
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    assert.deepEqual(results.slice(0, 3).map((r) => r.result), ["handled", "duplicate", "duplicate"]);
    assert.equal(await ledgerCount(h.db, "topup", `tg_stars:ch_${kind}_wh`), 1);
    assert.equal(await balanceOf(h.db, acct), 150_000_000n);
    const id = JSON.parse(body).update_id;
    assert.equal((await h.db.select().from(telegramUpdates).where(eq(telegramUpdates.updateId, id))).length, 1);
  });

  test("a transient failure → 500 (Telegram redelivers) and the update is not marked seen; a Bot API 4xx → 200", async () => {
    const failing = new Bot(BOT_TOKEN, { botInfo: BOT_INFO, client: { apiRoot: h.tg.apiRoot } });
    failing.use(() => {
      throw new Error("connection terminated");
    });
    const upd = textUpdate(tgUser(4004), "/start");
    const r = await handleTelegramWebhook(failing, { secretHeader: SECRET, body: JSON.stringify(upd) }, { secret: SECRET, logger: h.logger, db: h.db });
    assert.deepEqual(r, { status: 500, result: "failed_transient" });
    assert.equal((await h.db.select().from(telegramUpdates).where(eq(telegramUpdates.updateId, upd.update_id))).length, 0);

    const blocked = new Bot(BOT_TOKEN, { botInfo: BOT_INFO, client: { apiRoot: h.tg.apiRoot } });
    blocked.on("message", (ctx) => ctx.reply("hi"));
    h.tg.failNext("sendMessage", 403, "Forbidden: bot was blocked by the user");
    const r2 = await handleTelegramWebhook(blocked, { secretHeader: SECRET, body: JSON.stringify(textUpdate(tgUser(4005), "/start")) }, { secret: SECRET, logger: h.logger, db: h.db });
    assert.deepEqual(r2, { status: 200, result: "failed_permanent" });

    const slow = new Bot(BOT_TOKEN, { botInfo: BOT_INFO, client: { apiRoot: h.tg.apiRoot } });
    slow.use(() => new Promise((r) => setTimeout(r, 500)));
    const r3 = await handleTelegramWebhook(slow, { secretHeader: SECRET, body: JSON.stringify(textUpdate(tgUser(4006), "/x")) }, { secret: SECRET, logger: h.logger, timeoutMs: 50 });
    assert.equal(r3.status, 500);
  });

  test("setWebhook is called with the secret, an explicit allowed_updates and without dropping pending updates", async () => {
    h.tg.clear();
    await setTelegramWebhook(h.bot, "https://gw.example.com/telegram/webhook", SECRET);
    const c = h.tg.callsOf("setWebhook")[0]!.payload;
    assert.equal(c.url, "https://gw.example.com/telegram/webhook");
    assert.equal(c.secret_token, SECRET);
    assert.deepEqual(c.allowed_updates, ["message", "callback_query", "pre_checkout_query"]);
    assert.equal(c.drop_pending_updates, false);
  });
});
