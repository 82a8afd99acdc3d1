import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { BOT_TOKEN, FakeTelegram, callbackUpdate, paymentUpdate, preCheckoutUpdate, textUpdate, tgUser } from "../helpers/fake-telegram.js";
import { spawnGateway } from "../helpers/gateway.js";

const SECRET = "process-webhook-secret_0123456789";

async function waitFor<T>(what: string, f: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("webhook mode without TELEGRAM_WEBHOOK_SECRET refuses to start", async () => {
  await assert.rejects(
    spawnGateway({ TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: "http://127.0.0.1:9", TELEGRAM_MODE: "webhook" }),
    /TELEGRAM_WEBHOOK_SECRET is required/,
  );
});

describeEachDb("server.ts starts the bot (real process)", (kind, create) => {
  let database: TestDatabase;
  let tg: FakeTelegram;
  before(async () => {
    database = await create();
    tg = new FakeTelegram();
    await tg.start();
  });
  after(async () => {
    await tg.close();
    await database.drop();
  });
  const dbEnv = (): Record<string, string> => (kind === "postgres" && database.url ? { DATABASE_URL: database.url } : {});

  test("polling mode: /start → /pay → pre-checkout → payment handled through getUpdates; SIGTERM stops cleanly", async () => {
    const gw = await spawnGateway({ ...dbEnv(), TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: tg.apiRoot, TELEGRAM_MODE: "polling", PAYMENTS_RECONCILE_INTERVAL_SECONDS: "0" });
    try {
      const u = tgUser(7001);
      tg.queueUpdate(textUpdate(u, "/start", 1));
      await waitFor("welcome", () => tg.callsOf("sendMessage").find((c) => String(c.payload.text).startsWith("Welcome")));
      assert.deepEqual(tg.callsOf("getUpdates")[0]!.payload.allowed_updates, ["message", "callback_query", "pre_checkout_query"]);
      assert.equal(tg.callsOf("deleteWebhook")[0]?.payload.drop_pending_updates, false);
      tg.queueUpdate(callbackUpdate(u, "pay:s100", 2));
      const inv = await waitFor("invoice", () => tg.callsOf("sendInvoice")[0]);
      tg.queueUpdate(preCheckoutUpdate(u, { payload: inv.payload.payload, amount: 100 }, 3));
      const ans = await waitFor("pre-checkout answer", () => tg.callsOf("answerPreCheckoutQuery")[0]);
      assert.equal(ans.payload.ok, true);
      tg.queueUpdate(paymentUpdate(u, { payload: inv.payload.payload, amount: 100, chargeId: `ch_proc_${kind}` }, 4));
      await waitFor("confirmation", () => tg.callsOf("sendMessage").find((c) => String(c.payload.text).startsWith("Payment received")));
      tg.queueUpdate(textUpdate(u, "/balance", 5));
      const bal = await waitFor("balance", () => tg.callsOf("sendMessage").find((c) => String(c.payload.text).startsWith("Balance:")));
      assert.match(String(bal.payload.text), /^Balance: ₽150\.00/);
      // The command menu was registered at start-up: a default (English) one and one per language.
      assert.deepEqual(
        tg.callsOf("setMyCommands").map((c) => [c.payload.language_code ?? "", c.payload.commands[0].description]),
        [["", "Balance and spending"], ["ru", "Баланс и расходы"], ["en", "Balance and spending"]],
      );
    } finally {
      const code = await gw.stop();
      assert.equal(code, 0, gw.output());
    }
  });

  test("webhook mode: setWebhook with secret and allowed_updates; POST /telegram/webhook handled", async () => {
    tg.clear();
    const gw = await spawnGateway({
      ...dbEnv(),
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_MODE: "webhook",
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      PUBLIC_URL: "https://gw.example.com",
      PAYMENTS_RECONCILE_INTERVAL_SECONDS: "0",
    });
    try {
      const set = await waitFor("setWebhook", () => tg.callsOf("setWebhook")[0]);
      assert.equal(set.payload.url, "https://gw.example.com/telegram/webhook");
      assert.equal(set.payload.secret_token, SECRET);
      assert.deepEqual(set.payload.allowed_updates, ["message", "callback_query", "pre_checkout_query"]);
      const post = (secret?: string) =>
        fetch(`${gw.url}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(secret ? { "x-telegram-bot-api-secret-token": secret } : {}) },
          body: JSON.stringify(textUpdate(tgUser(7002, "ru"), "/help", 10)),
        });
      assert.equal((await post()).status, 401);
      assert.equal((await post(SECRET)).status, 200);
      const help = await waitFor("help", () => tg.callsOf("sendMessage").find((c) => String(c.payload.text).startsWith("Бот LLM Gateway")));
      assert.equal(help.payload.chat_id, 7002);
    } finally {
      assert.equal(await gw.stop(), 0, gw.output());
    }
  });
});
