import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { Update } from "grammy/types";
import { describeEachDb } from "../helpers/db.js";
import { callbackUpdate, paymentUpdate, preCheckoutUpdate, textUpdate, tgUser } from "../helpers/fake-telegram.js";
import { registerCommands } from "../../src/bot/bot.js";
import { accountIdOf, balanceOf, ledgerCount, orderRow, startHarness, type Harness } from "./harness.js";

/** One line per inbound update and per Bot API call it caused, readable as a chat log. */
function describeUpdate(u: Update): string {
  if (u.message?.successful_payment) {
    const p = u.message.successful_payment;
    return `successful_payment ${p.total_amount} ${p.currency} payload=${p.invoice_payload} charge=${p.telegram_payment_charge_id}`;
  }
  if (u.message?.text) return `message "${u.message.text}"`;
  if (u.callback_query) return `callback_query data="${u.callback_query.data}"`;
  if (u.pre_checkout_query) {
    const q = u.pre_checkout_query;
    return `pre_checkout_query ${q.total_amount} ${q.currency} payload=${q.invoice_payload}`;
  }
  return JSON.stringify(u);
}

function describeCall(method: string, p: Record<string, any>): string {
  switch (method) {
    case "sendMessage": {
      const kb = p.reply_markup?.inline_keyboard?.flat().map((b: { text: string; callback_data: string }) => `[${b.text} | ${b.callback_data}]`).join(" ");
      return `sendMessage ${JSON.stringify(p.text)}${kb ? ` buttons: ${kb}` : ""}`;
    }
    case "sendInvoice":
      return `sendInvoice title=${JSON.stringify(p.title)} description=${JSON.stringify(p.description)} currency=${p.currency} prices=${JSON.stringify(p.prices)} payload=${p.payload} start_parameter=${p.start_parameter} provider_token=${p.provider_token === undefined ? "(none)" : JSON.stringify(p.provider_token)}${p.need_email ? " need_email send_email_to_provider" : ""}${p.provider_data ? ` provider_data=${p.provider_data}` : ""}`;
    case "sendInvoice:receipt":
      return "";
    case "answerCallbackQuery":
      return `answerCallbackQuery${p.text ? ` text=${JSON.stringify(p.text)}` : ""}`;
    case "createInvoiceLink":
      return `createInvoiceLink title=${JSON.stringify(p.title)} currency=${p.currency} prices=${JSON.stringify(p.prices)} payload=${p.payload} provider_token=${JSON.stringify(p.provider_token)}`;
    case "setMyCommands":
      return `setMyCommands language_code=${p.language_code ?? "(default)"} ${p.commands.map((c: { command: string; description: string }) => `/${c.command} — ${c.description}`).join("; ")}`;
    case "answerPreCheckoutQuery":
      return `answerPreCheckoutQuery ok=${p.ok}${p.error_message ? ` error_message=${JSON.stringify(p.error_message)}` : ""}`;
    default:
      return `${method} ${JSON.stringify(p)}`;
  }
}

/** Narrow/no-break spaces from Intl become plain spaces so transcripts and assertions read simply. */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, " ");
const SUPPORT = "@gateway_support";
const API_BASE = "https://api.gateway.example/v1";

describeEachDb("bot transcript", (kind, create) => {
  let h: Harness;
  before(async () => {
    h = await startHarness(create, { TELEGRAM_PROVIDER_TOKEN: "381764678:TEST:12345" }, { apiBaseUrl: API_BASE, supportContact: SUPPORT });
  });
  after(async () => {
    await h.close();
  });

  for (const lang of ["ru", "en"] as const) {
    test(`[${lang}] the bot as a shop: menu, help, hints, failures, payment, link, receipt, key, referral notice`, async () => {
      const ru = lang === "ru";
      const u = ru ? tgUser(3001, "ru", "Иван") : tgUser(3101, "en", "Ann");
      const friend = ru ? tgUser(3002, "ru", "Пётр") : tgUser(3102, "en", "Bob");
      const lines: string[] = [
        `Transcript (${lang}, ${kind}); Stars rate 1.5 ₽/⭐, RUB provider invoices on (YooKassa test token), bot @gateway_test_bot,`,
        `API_BASE_URL=${API_BASE}, SUPPORT_CONTACT=${SUPPORT}, user ${u.id} (language_code=${lang}), friend ${friend.id}`,
        "",
      ];
      const log = (from: number) => {
        for (const c of h.tg.calls.slice(from)) lines.push(`bot → API  : ${plain(describeCall(c.method, c.payload)).replace(/sk-gw-[A-Za-z0-9]{40}/g, "sk-gw-<40 characters>")}`);
      };
      const step = async (upd: Update, who = u) => {
        const from = h.tg.calls.length;
        await h.send(upd);
        lines.push(`${who === u ? "user  " : "friend"} → bot : ${describeUpdate(upd)}`);
        log(from);
        return h.tg.calls.slice(from);
      };
      const texts = (calls: { method: string; payload: Record<string, any> }[]) => calls.filter((c) => c.method === "sendMessage").map((c) => plain(String(c.payload.text)));

      // c) the command menu, registered at start-up (main/payments.ts calls the same function).
      let from = h.tg.calls.length;
      await registerCommands(h.bot.api);
      lines.push("start-up   : registerCommands");
      log(from);
      const menus = h.tg.callsOf("setMyCommands").slice(-3);
      assert.deepEqual(menus.map((c) => c.payload.language_code ?? null), [null, "ru", "en"]);
      assert.ok(menus[1]!.payload.commands.some((c: { command: string; description: string }) => c.command === "paylink" && /ссылка/i.test(c.description)));

      await step(textUpdate(u, "/start"));
      // d) /help carries the API base URL and the support contact.
      const help = texts(await step(textUpdate(u, "/help")))[0]!;
      assert.ok(help.includes(API_BASE) && help.includes(SUPPORT), help);
      // h) ordinary text gets a hint, a mistyped command the "unknown command" text.
      const hint = texts(await step(textUpdate(u, ru ? "привет, как пополнить?" : "hi, how do I top up?")))[0]!;
      assert.match(hint, ru ? /^Я понимаю команды: \/pay/ : /^I work with commands: \/pay/);
      assert.ok(hint.includes(SUPPORT));
      assert.match(texts(await step(textUpdate(u, "/whatever")))[0]!, ru ? /^Неизвестная команда/ : /^Unknown command/);

      // b) money per locale, two decimals: "1 500,00 ₽" in Russian, "₽1,500.00" in English.
      const menu = (await step(textUpdate(u, "/pay"))).find((c) => c.method === "sendMessage")!;
      const buttons = menu.payload.reply_markup.inline_keyboard.flat().map((b: { text: string }) => plain(b.text));
      assert.ok(buttons.includes(ru ? "1 000 ⭐ → 1 500,00 ₽" : "1,000 ⭐ → ₽1,500.00"), buttons.join(" | "));
      assert.ok(buttons.includes(ru ? "500,00 ₽ → 500,00 ₽" : "₽500.00 → ₽500.00"), buttons.join(" | "));

      // a) a package button whose invoice fails: the callback is answered with the reason, the chat
      // says what to do, and the order is canceled (not left unpaid).
      h.tg.failNext("sendInvoice", 500, "Internal Server Error");
      const failed = await step(callbackUpdate(u, "pay:s100"));
      const ack = failed.find((c) => c.method === "answerCallbackQuery")!;
      assert.match(String(ack.payload.text), ru ? /Что-то пошло не так/ : /Something went wrong/);
      assert.match(texts(failed)[0]!, ru ? /^Не удалось выставить счёт\. Деньги не списаны — повторите \/pay/ : /^Could not create the invoice\. Nothing was charged — try \/pay again/);
      assert.ok(texts(failed)[0]!.includes(SUPPORT));
      const failedOrder = failed.find((c) => c.method === "sendInvoice")!.payload.payload as string;
      assert.equal((await orderRow(h.db, failedOrder))!.status, "canceled");
      // …and a package that no longer exists: answered too, with a next step.
      const gone = await step(callbackUpdate(u, "pay:s7"));
      assert.match(String(gone.find((c) => c.method === "answerCallbackQuery")!.payload.text), ru ? /Повторите \/pay/ : /Use \/pay again|\/pay/);

      const ok = await step(callbackUpdate(u, "pay:s100"));
      assert.deepEqual(ok.map((c) => c.method), ["sendInvoice", "answerCallbackQuery"]);
      const invoice = ok[0]!.payload;
      await step(preCheckoutUpdate(u, { payload: invoice.payload, amount: invoice.prices[0].amount }));
      await step(paymentUpdate(u, { payload: invoice.payload, amount: invoice.prices[0].amount, chargeId: `stxTRANSCRIPT${kind}${lang}` }));

      // i) a RUB provider invoice carries the YooKassa 54-FZ receipt; no e-mail known → Telegram asks for it.
      const rub = (await step(callbackUpdate(u, "pay:r500"))).find((c) => c.method === "sendInvoice")!.payload;
      assert.equal(rub.currency, "RUB");
      assert.equal(rub.provider_token, "381764678:TEST:12345");
      assert.equal(rub.need_email, true);
      assert.equal(rub.send_email_to_provider, true);
      const receipt = JSON.parse(rub.provider_data).receipt;
      assert.deepEqual(receipt.items[0], {
        description: ru ? "Пополнение баланса API, 500,00 ₽" : "API balance top-up, ₽500.00",
        quantity: "1.00",
        amount: { value: "500.00", currency: "RUB" },
        vat_code: 1,
        payment_subject: "service",
        payment_mode: "full_payment",
      });

      // i) a shareable payment link (createInvoiceLink), Stars: empty provider token.
      await step(textUpdate(u, "/paylink"));
      const link = await step(callbackUpdate(u, "link:s250"));
      const li = link.find((c) => c.method === "createInvoiceLink")!;
      assert.equal(li.payload.provider_token, "");
      assert.equal(li.payload.currency, "XTR");
      assert.match(texts(link)[0]!, /https:\/\/t\.me\/\$fakeInvoice\d+/);
      assert.ok(link.some((c) => c.method === "answerCallbackQuery"));

      // d) the key message: copyable, with the API base URL and the support contact.
      await step(textUpdate(u, "/keys"));
      const key = (await step(callbackUpdate(u, "keys:new"))).find((c) => c.method === "sendMessage")!;
      assert.equal(key.payload.protect_content, undefined);
      assert.ok(String(key.payload.text).includes(API_BASE) && String(key.payload.text).includes(SUPPORT));
      const list = texts(await step(textUpdate(u, "/keys")))[0]!;
      assert.match(list, ru ? /\(активен, \d{1,2} [а-я]{3,4}\.? \d{4} г\.\)/ : /\(active, [A-Z][a-z]{2} \d{1,2}, \d{4}\)/);

      // e) the inviter is told when a friend's top-up pays a commission.
      const inviteText = texts(await step(textUpdate(u, "/invite")))[0]!;
      const code = /start=ref_([A-Za-z0-9]+)/.exec(inviteText)![1]!;
      await step(textUpdate(friend, `/start ref_${code}`), friend);
      const fInv = (await step(callbackUpdate(friend, "pay:s1000"), friend)).find((c) => c.method === "sendInvoice")!.payload;
      await step(preCheckoutUpdate(friend, { payload: fInv.payload, amount: 1000 }), friend);
      const paidCalls = await step(paymentUpdate(friend, { payload: fInv.payload, amount: 1000, chargeId: `stxFRIEND${kind}${lang}` }), friend);
      const notice = paidCalls.find((c) => c.method === "sendMessage" && c.payload.chat_id === u.id)!;
      assert.equal(plain(String(notice.payload.text)), ru ? "Реферальное вознаграждение: +150,00 ₽ с пополнения друга. Баланс: 300,00 ₽." : "Referral commission: +₽150.00 from a friend's top-up. Balance: ₽300.00.");

      const bal = texts(await step(textUpdate(u, "/balance")))[0]!;
      assert.match(bal, ru ? /^Баланс: 300,00 ₽\n/ : /^Balance: ₽300\.00\n/);
      await step(textUpdate(u, "/usage"));
      // f) /paysupport buttons show a local date; the request confirmation shows no internal id.
      const ps = (await step(textUpdate(u, "/paysupport"))).find((c) => c.method === "sendMessage")!;
      const psButton = ps.payload.reply_markup.inline_keyboard[0][0];
      await step(callbackUpdate(u, psButton.callback_data));

      const acct = await accountIdOf(h.db, u.id);
      lines.push("", `ledger: topup rows for the first charge = ${await ledgerCount(h.db, "topup", `tg_stars:stxTRANSCRIPT${kind}${lang}`)}, balance = ${await balanceOf(h.db, acct)} micros`);
      const text = lines.join("\n");
      console.log(text.split("\n").map((l) => `# ${l}`).join("\n"));
      mkdirSync("test-results", { recursive: true });
      writeFileSync(`test-results/bot-transcript-${lang}.txt`, text + "\n");

      assert.equal(await balanceOf(h.db, acct), 300_000_000n);
      // f) no internal ids or ISO timestamps in anything a customer reads.
      const customerTexts = h.tg.calls
        .filter((c) => c.payload.chat_id === u.id || c.payload.chat_id === friend.id || c.method === "answerCallbackQuery")
        .flatMap((c) => [c.payload.text, c.payload.description, ...(c.payload.reply_markup?.inline_keyboard?.flat().map((b: { text: string }) => b.text) ?? [])])
        .filter((x): x is string => typeof x === "string");
      for (const t of customerTexts) {
        assert.doesNotMatch(t, /\b(ord|order|pay|acct|account|user|usr|rr|refund)_[A-Za-z0-9]{6,}/, t);
        assert.doesNotMatch(t, /\d{4}-\d\d-\d\d/, t);
      }
      // a) every callback query got exactly one answer.
      const callbacks = lines.filter((l) => l.includes("callback_query")).length;
      assert.ok(callbacks >= 8);
      assert.equal(h.tg.calls.filter((c) => c.method === "answerCallbackQuery" && h.tg.calls.indexOf(c) >= from).length, callbacks);
    });
  }
});
