import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { startDeepLinkLogin } from "../../src/accounts/telegram-login.js";
import { accounts, authLoginRequests, requestLogs, users } from "../../src/db/schema/index.js";
import { describeEachDb } from "../helpers/db.js";
import { callbackUpdate, paymentUpdate, textUpdate, tgUser } from "../helpers/fake-telegram.js";
import { accountIdOf, requestInvoice, startHarness, type Harness } from "./harness.js";
import { createHash } from "node:crypto";

type L = "en" | "ru";
const EXPECT: Record<L, Record<string, RegExp>> = {
  en: {
    welcomeNew: /^Welcome, Ann! Your account is ready\. Top up with \/pay and create an API key with \/keys\.\n\n\/balance — balance and spending\n/,
    welcomeBack: /^Welcome back, Ann!\n\n\/balance/,
    help: /^LLM Gateway bot: an OpenAI-compatible API with a prepaid balance\.\n\n\/balance — balance and spending\n\/pay — top up\n\/paylink — payment link\n\/keys — API keys\n\/usage — usage for the last 7 days\n\/invite — invite friends\n\/paysupport — payment support and refunds\n\/help — this help$/,
    balance0: /^Balance: ₽0\.00\nAvailable: ₽0\.00 \(reserved ₽0\.00\)\nSpent today: ₽0\.00\nSpent this month: ₽0\.00$/,
    balance: /^Balance: ₽148\.75\nAvailable: ₽148\.75 \(reserved ₽0\.00\)\nSpent today: ₽1\.25\nSpent this month: ₽1\.25$/,
    pay: /^Choose a top-up:$/,
    invite: /^Your invite link:\nhttps:\/\/t\.me\/gateway_test_bot\?start=ref_[A-Za-z0-9]{8}\n\nYou get 10% of your friends' paid top-ups\.\nInvited: 0\nEarned: ₽0\.00$/,
    keysNone: /^You have no API keys yet\.$/,
    keyCreated: /^Your new API key \(shown only once, store it now\):\n<code>sk-gw-[A-Za-z0-9]{40}<\/code>$/,
    keysList: /^Your API keys:\n• telegram: sk-gw-[A-Za-z0-9]{4}… \(active, [A-Z][a-z]{2} \d{1,2}, \d{4}\)$/,
    usageEmpty: /^No requests in the last 7 days\.$/,
    usage: /^Last 7 days: 2 requests, 30 prompt \+ 12 completion tokens, spent ₽1\.25\.\nTop models:\n• openai\/gpt-4o-mini: 2 \/ ₽1\.25$/,
    paysupportNone: /^You have no payments that can be refunded\.$/,
    paysupport: /^Payment support\. Choose a payment to request a refund of its unspent credit:$/,
    paid: /^Payment received: \+₽150\.00\. Balance: ₽150\.00\.$/,
    unknown: /^Unknown command\. \/help lists what I can do\.$/,
    hint: /^I work with commands: \/pay to top up, \/keys for API keys, \/balance for the balance, \/help for the rest\.\nPayment questions: \/paysupport\.$/,
    loginOk: /^Login confirmed\. Return to your browser\.$/,
    loginUsed: /^This login link was already used\.$/,
    blocked: /^Your account is blocked\. Contact support\.$/,
    buttons: /^100 ⭐ → ₽150\.00$/,
    invoiceTitle: /^Balance top-up$/,
    invoiceDescription: /^₽150\.00 of API credit for 100 ⭐\.$/,
  },
  ru: {
    welcomeNew: /^Добро пожаловать, Ann! Аккаунт создан\. Пополните баланс через \/pay и создайте API-ключ через \/keys\.\n\n\/balance — баланс и расходы\n/,
    welcomeBack: /^С возвращением, Ann!\n\n\/balance/,
    help: /^Бот LLM Gateway: OpenAI-совместимый API с предоплаченным балансом\.\n\n\/balance — баланс и расходы\n\/pay — пополнить\n\/paylink — ссылка на оплату\n\/keys — API-ключи\n\/usage — расход за 7 дней\n\/invite — пригласить друзей\n\/paysupport — вопросы по оплате и возвраты\n\/help — помощь$/,
    balance0: /^Баланс: 0,00\s₽\nДоступно: 0,00\s₽ \(в резерве 0,00\s₽\)\nПотрачено сегодня: 0,00\s₽\nПотрачено в этом месяце: 0,00\s₽$/,
    balance: /^Баланс: 148,75\s₽\nДоступно: 148,75\s₽ \(в резерве 0,00\s₽\)\nПотрачено сегодня: 1,25\s₽\nПотрачено в этом месяце: 1,25\s₽$/,
    pay: /^Выберите пакет пополнения:$/,
    invite: /^Ваша ссылка-приглашение:\nhttps:\/\/t\.me\/gateway_test_bot\?start=ref_[A-Za-z0-9]{8}\n\nВы получаете 10% от оплаченных пополнений друзей\.\nПриглашено: 0\nЗаработано: 0,00\s₽$/,
    keysNone: /^У вас пока нет API-ключей\.$/,
    keyCreated: /^Ваш новый API-ключ \(показывается один раз, сохраните его сейчас\):\n<code>sk-gw-[A-Za-z0-9]{40}<\/code>$/,
    keysList: /^Ваши API-ключи:\n• telegram: sk-gw-[A-Za-z0-9]{4}… \(активен, \d{1,2} [а-я]{3,4}\.? \d{4}\sг\.\)$/,
    usageEmpty: /^За последние 7 дней запросов не было\.$/,
    usage: /^За 7 дней: 2 запроса, 30 входных \+ 12 выходных токенов, потрачено 1,25\s₽\.\nМодели:\n• openai\/gpt-4o-mini: 2 \/ 1,25\s₽$/,
    paysupportNone: /^Нет платежей, которые можно вернуть\.$/,
    paysupport: /^Поддержка по оплате\. Выберите платёж, чтобы запросить возврат неизрасходованного баланса:$/,
    paid: /^Оплата получена: \+150,00\s₽\. Баланс: 150,00\s₽\.$/,
    unknown: /^Неизвестная команда\. Список команд — \/help\.$/,
    hint: /^Я понимаю команды: \/pay — пополнить, \/keys — API-ключи, \/balance — баланс, \/help — остальное\.\nВопросы по оплате — \/paysupport\.$/,
    loginOk: /^Вход подтверждён\. Вернитесь в браузер\.$/,
    loginUsed: /^Эта ссылка для входа уже использована\.$/,
    blocked: /^Ваш аккаунт заблокирован\. Обратитесь в поддержку\.$/,
    buttons: /^100 ⭐ → 150,00\s₽$/,
    invoiceTitle: /^Пополнение баланса$/,
    invoiceDescription: /^150,00\s₽ на баланс API за 100 ⭐\.$/,
  },
};

describeEachDb("bot commands", (kind, create) => {
  let h: Harness;
  before(async () => {
    h = await startHarness(create);
  });
  after(async () => {
    await h.close();
  });

  test("/usage writes token and request counts the way the customer's language does (1,234,567 / 1 234 567)", async () => {
    const expected = {
      en: "Last 7 days: 1 request, 1,234,567 prompt + 12,345 completion tokens, spent ₽2.50.\nTop models:\n• openai/gpt-4o-mini: 1 / ₽2.50",
      // Russian groups thousands with a no-break space (U+00A0), as Intl.NumberFormat("ru-RU") does.
      ru: "За 7 дней: 1 запрос, 1\u00a0234\u00a0567 входных + 12\u00a0345 выходных токенов, потрачено 2,50\u00a0₽.\nМодели:\n• openai/gpt-4o-mini: 1 / 2,50\u00a0₽",
    };
    for (const lang of ["en", "ru"] as const) {
      const u = tgUser(lang === "en" ? 2011 : 2012, lang);
      await h.send(textUpdate(u, "/start"));
      await h.db.insert(requestLogs).values({
        id: `req_${kind}_${lang}_big`,
        accountId: await accountIdOf(h.db, u.id),
        endpoint: "chat.completions",
        requestedModel: "openai/gpt-4o-mini",
        servedModel: "openai/gpt-4o-mini",
        status: "completed",
        promptTokens: 1_234_567,
        completionTokens: 12_345,
        priceMicros: 2_500_000n,
        createdAt: new Date(h.clock.now() - 1000),
      });
      await h.send(textUpdate(u, "/usage"));
      assert.equal(h.tg.callsOf("sendMessage").at(-1)!.payload.text, expected[lang]);
    }
  });

  for (const lang of ["en", "ru"] as const) {
    const E = EXPECT[lang];
    test(`[${lang}] every command's reply, from the captured Bot API calls`, async () => {
      const u = tgUser(lang === "en" ? 2001 : 2002, lang);
      const last = () => h.tg.callsOf("sendMessage").at(-1)!.payload;
      const say = async (text: string) => {
        await h.send(textUpdate(u, text));
        return last();
      };
      assert.match((await say("/start")).text, E.welcomeNew!);
      assert.match((await say("/start")).text, E.welcomeBack!);
      assert.match((await say("/help")).text, E.help!);
      assert.match((await say("/balance")).text, E.balance0!);
      const pay = await say("/pay");
      assert.match(pay.text, E.pay!);
      assert.match(pay.reply_markup.inline_keyboard[0][0].text, E.buttons!);
      const inv = await requestInvoice(h, u, "s100");
      assert.match(inv.call.payload.title, E.invoiceTitle!);
      assert.match(inv.call.payload.description, E.invoiceDescription!);
      await h.send(paymentUpdate(u, { payload: inv.orderId, amount: 100, chargeId: `ch_${kind}_${lang}_cmd` }));
      assert.match(last().text, E.paid!);
      const invite = (await say("/invite")).text as string;
      assert.match(invite, E.invite!);
      const link = invite.split("\n")[1]!;
      assert.ok(new URL(link).searchParams.get("start")!.length <= 64);
      const keys = await say("/keys");
      assert.match(keys.text, E.keysNone!);
      assert.equal(keys.reply_markup.inline_keyboard[0][0].callback_data, "keys:new");
      await h.send(callbackUpdate(u, "keys:new"));
      const created = last();
      assert.match(created.text, E.keyCreated!);
      assert.equal(created.parse_mode, "HTML");
      assert.equal(created.protect_content, undefined, "the key can be copied");
      const secret = /<code>(.*)<\/code>/.exec(created.text)![1]!;
      const listed = (await say("/keys")).text as string;
      assert.match(listed, E.keysList!);
      assert.ok(!listed.includes(secret), "the key is shown once, listings are masked");
      assert.match((await say("/usage")).text, E.usageEmpty!);
      const acct = await accountIdOf(h.db, u.id);
      for (const [i, price] of [1_000_000n, 250_000n].entries()) {
        await h.db.insert(requestLogs).values({
          id: `req_${kind}_${lang}_${i}`,
          accountId: acct,
          endpoint: "chat.completions",
          requestedModel: "openai/gpt-4o-mini",
          servedModel: "openai/gpt-4o-mini",
          status: "completed",
          promptTokens: 15,
          completionTokens: 6,
          priceMicros: price,
          createdAt: new Date(h.clock.now() - 1000),
        });
      }
      // Usage is debited by billing; emulate its ledger effect on the balance for the /balance text.
      await h.db.update(accounts).set({ balanceMicros: 148_750_000n }).where(eq(accounts.id, acct));
      assert.match((await say("/balance")).text, E.balance!);
      assert.match((await say("/usage")).text, E.usage!);
      const ps = await say("/paysupport");
      assert.match(ps.text, E.paysupport!);
      assert.equal(ps.reply_markup.inline_keyboard.length, 1);
      assert.match((await say("/whatever")).text, E.unknown!);
      assert.match((await say("hello")).text, E.hint!);
      await h.db.update(accounts).set({ balanceMicros: 150_000_000n }).where(eq(accounts.id, acct));
    });

    test(`[${lang}] /paysupport with nothing to refund; blocked account; /start login_<nonce>`, async () => {
      const u = tgUser(lang === "en" ? 2003 : 2004, lang);
      const say = async (text: string) => {
        await h.send(textUpdate(u, text));
        return String(h.tg.callsOf("sendMessage").at(-1)!.payload.text);
      };
      assert.match(await say("/paysupport"), E.paysupportNone!);
      const login = await startDeepLinkLogin(h.db, { ttlSec: 300, nowMs: h.clock.now() });
      assert.match(await say(`/start ${login.startParam}`), E.loginOk!);
      const req = (await h.db.select().from(authLoginRequests).where(eq(authLoginRequests.id, createHash("sha256").update(login.nonce).digest("hex"))))[0];
      assert.equal(req?.status, "approved");
      assert.equal(req?.telegramId, String(u.id));
      assert.match(await say(`/start ${login.startParam}`), E.loginUsed!);
      const acct = await accountIdOf(h.db, u.id);
      await h.db.update(accounts).set({ status: "blocked" }).where(eq(accounts.id, acct));
      assert.match(await say("/balance"), E.blocked!);
      assert.match(await say("/pay"), E.blocked!);
      const before = h.tg.callsOf("sendInvoice").length;
      await h.send(callbackUpdate(u, "pay:s100"));
      assert.equal(h.tg.callsOf("sendInvoice").length, before, "no invoice for a blocked account");
      await h.db.update(accounts).set({ status: "active" }).where(eq(accounts.id, acct));
    });
  }

  test("T10 /start creates once; ref_<code> attributes once; self, unknown and late codes are ignored; no sign-up reward", async () => {
    const inviter = tgUser(2101);
    await h.send(textUpdate(inviter, "/start"));
    const inviterAcct = await accountIdOf(h.db, inviter.id);
    const code = (await h.db.select({ c: accounts.referralCode }).from(accounts).where(eq(accounts.id, inviterAcct)))[0]!.c!;
    assert.match(code, /^[A-Za-z0-9]{8}$/);

    const invitee = tgUser(2102);
    await h.send(textUpdate(invitee, `/start ref_${code}`));
    assert.match(String(h.tg.callsOf("sendMessage").at(-1)!.payload.text), /You joined through an invite link\./);
    const inviteeAcct = await accountIdOf(h.db, invitee.id);
    const row = (await h.db.select().from(accounts).where(eq(accounts.id, inviteeAcct)))[0]!;
    assert.equal(row.referredBy, inviterAcct);
    assert.equal((await h.db.select().from(accounts).where(eq(accounts.id, inviterAcct)))[0]!.balanceMicros, 0n, "no reward for a sign-up");

    // Second /start (even with another code) changes nothing; one user row.
    const other = tgUser(2103);
    await h.send(textUpdate(other, "/start"));
    const otherCode = (await h.db.select({ c: accounts.referralCode }).from(accounts).where(eq(accounts.id, await accountIdOf(h.db, other.id))))[0]!.c!;
    await h.send(textUpdate(invitee, `/start ref_${otherCode}`));
    assert.equal((await h.db.select().from(accounts).where(eq(accounts.id, inviteeAcct)))[0]!.referredBy, inviterAcct);
    assert.equal((await h.db.select().from(users).where(eq(users.telegramId, invitee.id))).length, 1);
    // Self-referral: the inviter using its own code is an existing user → nothing.
    await h.send(textUpdate(inviter, `/start ref_${code}`));
    assert.equal((await h.db.select().from(accounts).where(eq(accounts.id, inviterAcct)))[0]!.referredBy, null);
    // Unknown code: account created without an inviter.
    const stranger = tgUser(2104);
    await h.send(textUpdate(stranger, "/start ref_ZZZZZZZZ"));
    assert.equal((await h.db.select().from(accounts).where(eq(accounts.id, await accountIdOf(h.db, stranger.id))))[0]!.referredBy, null);
    // Two concurrent first /starts make one account.
    const racer = tgUser(2105);
    await Promise.all([h.send(textUpdate(racer, "/start")), h.send(textUpdate(racer, "/start")), h.send(textUpdate(racer, "/balance"))]);
    assert.equal((await h.db.select().from(users).where(eq(users.telegramId, racer.id))).length, 1);
  });

  test("T21 the inviter earns 10% of the invitee's paid top-ups once, none on its own payments, reversed on refund; /invite shows it", async () => {
    const inviter = tgUser(2201);
    await h.send(textUpdate(inviter, "/start"));
    const inviterAcct = await accountIdOf(h.db, inviter.id);
    const code = (await h.db.select({ c: accounts.referralCode }).from(accounts).where(eq(accounts.id, inviterAcct)))[0]!.c!;
    const invitee = tgUser(2202, "ru");
    await h.send(textUpdate(invitee, `/start ref_${code}`));
    const { orderId } = await requestInvoice(h, invitee, "s1000"); // 1000 ⭐ = 1500 ₽
    const chargeId = `ch_${kind}_t21`;
    h.tg.addIncomingStars({ chargeId, amount: 1000, user: invitee, payload: orderId });
    await Promise.all([0, 1, 2].map(() => h.send(paymentUpdate(invitee, { payload: orderId, amount: 1000, chargeId }))));
    const bal = async (a: string) => (await h.db.select().from(accounts).where(eq(accounts.id, a)))[0]!.balanceMicros;
    assert.equal(await bal(inviterAcct), 150_000_000n, "10% of 1500 ₽, once");
    // The inviter is told once, in the inviter's own language, with the new balance.
    const notices = h.tg.callsOf("sendMessage").filter((c) => c.payload.chat_id === inviter.id && /^Referral commission/.test(String(c.payload.text)));
    assert.deepEqual(notices.map((c) => c.payload.text), ["Referral commission: +₽150.00 from a friend's top-up. Balance: ₽150.00."]);
    const own = await requestInvoice(h, inviter, "s100");
    await h.send(paymentUpdate(inviter, { payload: own.orderId, amount: 100, chargeId: `ch_${kind}_t21own` }));
    assert.equal(await bal(inviterAcct), 300_000_000n, "own payment: 150 ₽ credited, no commission to anyone");
    await h.send(textUpdate(inviter, "/invite"));
    assert.match(String(h.tg.callsOf("sendMessage").at(-1)!.payload.text), /Invited: 1\nEarned: ₽150\.00$/);

    const { refundPayment } = await import("../../src/payments/refunds.js");
    const { starsRefundGateway } = await import("../../src/payments/telegram-stars.js");
    const { paymentRow } = await import("./harness.js");
    const pay = (await paymentRow(h.db, chargeId))!;
    assert.equal(pay.commissionMicros, 150_000_000n);
    const r = await refundPayment(h.db, { tg_stars: starsRefundGateway(h.bot.api) }, { paymentId: pay.id, actor: "admin:test" });
    assert.equal(r.status, "refunded");
    assert.equal(r.status === "refunded" && r.commissionReversedMicros, 150_000_000n);
    assert.equal(await bal(inviterAcct), 150_000_000n, "commission reversed");
    await h.send(textUpdate(inviter, "/invite"));
    assert.match(String(h.tg.callsOf("sendMessage").at(-1)!.payload.text), /Invited: 1\nEarned: ₽0\.00$/);
  });
});
