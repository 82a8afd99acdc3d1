import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { Update } from "grammy/types";
import { describeEachDb } from "../helpers/db.js";
import { callbackUpdate, paymentUpdate, preCheckoutUpdate, textUpdate, tgUser } from "../helpers/fake-telegram.js";
import { accountIdOf, balanceOf, ledgerCount, startHarness, type Harness } from "./harness.js";

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
      return `sendInvoice title=${JSON.stringify(p.title)} description=${JSON.stringify(p.description)} currency=${p.currency} prices=${JSON.stringify(p.prices)} payload=${p.payload} start_parameter=${p.start_parameter} provider_token=${p.provider_token === undefined ? "(none)" : JSON.stringify(p.provider_token)}`;
    case "answerPreCheckoutQuery":
      return `answerPreCheckoutQuery ok=${p.ok}${p.error_message ? ` error_message=${JSON.stringify(p.error_message)}` : ""}`;
    default:
      return `${method} ${JSON.stringify(p)}`;
  }
}

describeEachDb("bot transcript", (kind, create) => {
  let h: Harness;
  before(async () => {
    h = await startHarness(create);
  });
  after(async () => {
    await h.close();
  });

  test("full /start → /pay → pre-checkout → payment → /balance run", async () => {
    const u = tgUser(3001, "ru", "Иван");
    const lines: string[] = [`Transcript (${kind}); Stars rate 1.5 ₽/⭐, bot @gateway_test_bot, user ${u.id} (language_code=ru)`];
    const step = async (upd: Update) => {
      const from = h.tg.calls.length;
      await h.send(upd);
      lines.push(`user → bot : ${describeUpdate(upd)}`);
      for (const c of h.tg.calls.slice(from)) lines.push(`bot → API  : ${describeCall(c.method, c.payload)}`);
    };
    await step(textUpdate(u, "/start"));
    await step(textUpdate(u, "/pay"));
    await step(callbackUpdate(u, "pay:s100"));
    const invoice = h.tg.callsOf("sendInvoice").at(-1)!.payload;
    await step(preCheckoutUpdate(u, { payload: invoice.payload, amount: invoice.prices[0].amount }));
    await step(paymentUpdate(u, { payload: invoice.payload, amount: invoice.prices[0].amount, chargeId: `stxTRANSCRIPT${kind}` }));
    await step(textUpdate(u, "/balance"));
    const acct = await accountIdOf(h.db, u.id);
    lines.push(`ledger: topup rows for the charge = ${await ledgerCount(h.db, "topup", `tg_stars:stxTRANSCRIPT${kind}`)}, balance = ${await balanceOf(h.db, acct)} micros`);
    const text = lines.join("\n");
    console.log(text.split("\n").map((l) => `# ${l}`).join("\n"));
    writeFileSync(`/tmp/llm-gateway-telegram-transcript-${kind}.txt`, text + "\n");

    assert.equal(h.tg.callsOf("answerPreCheckoutQuery").at(-1)!.payload.ok, true);
    assert.equal(await balanceOf(h.db, acct), 150_000_000n);
    assert.match(String(h.tg.callsOf("sendMessage").at(-1)!.payload.text), /^Баланс: 150\.00 ₽/);
    assert.deepEqual(
      h.tg.calls.map((c) => c.method),
      ["sendMessage", "sendMessage", "answerCallbackQuery", "sendInvoice", "answerPreCheckoutQuery", "sendMessage", "sendMessage"],
    );
  });
});
