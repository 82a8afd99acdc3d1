import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import { describeEachDb } from "../helpers/db.js";
import { paymentUpdate, preCheckoutUpdate, refundUpdate, textUpdate, tgUser } from "../helpers/fake-telegram.js";
import { accountIdOf, balanceOf, ledgerCount, ledgerDrift, orderRow, paymentRow, requestInvoice, startHarness, type Harness } from "../bot/harness.js";
import { accounts, paymentAnomalies, paymentOrders, payments, refundRequests } from "../../src/db/schema/index.js";
import { refundPayment } from "../../src/payments/refunds.js";
import { starsRefundGateway } from "../../src/payments/telegram-stars.js";
import { reconcileStarTransactions } from "../../src/payments/stars-reconcile.js";
import { callbackUpdate } from "../helpers/fake-telegram.js";

const STAR_MICROS = 1_500_000n; // PAYMENTS_STAR_RATE=1.5 in the harness

describeEachDb("telegram payments", (kind, create) => {
  let h: Harness;
  before(async () => {
    h = await startHarness(create);
  });
  after(async () => {
    await h.close();
  });

  test("T11 /pay → package button → one Stars invoice (XTR, one price, no provider token, start_parameter, payload = order id)", async () => {
    const u = tgUser(1001);
    await h.send(textUpdate(u, "/start"));
    await h.send(textUpdate(u, "/pay"));
    const menu = h.tg.callsOf("sendMessage").at(-1)!;
    const buttons = menu.payload.reply_markup.inline_keyboard.flat().map((b: { callback_data: string }) => b.callback_data);
    assert.deepEqual(buttons, ["pay:s100", "pay:s250", "pay:s500", "pay:s1000"]);
    const { orderId, call } = await requestInvoice(h, u, "s100");
    assert.equal(call.payload.currency, "XTR");
    assert.equal(call.payload.prices.length, 1);
    assert.equal(call.payload.prices[0].amount, 100);
    assert.ok(call.payload.provider_token === undefined || call.payload.provider_token === "");
    assert.equal(call.payload.start_parameter, "topup");
    assert.equal(call.payload.chat_id, u.id);
    assert.match(orderId, /^ord_[A-Za-z0-9]{20}$/);
    const order = await orderRow(h.db, orderId);
    assert.equal(order?.status, "created");
    assert.equal(order?.amountMinor, 100n);
    assert.equal(order?.creditsMicros, 100n * STAR_MICROS);
    assert.equal(order?.telegramId, u.id);
  });

  test("T12 pre-checkout: ok for the right order; ok:false with a reason for wrong amount/currency/payer, expired, paid, unknown", async () => {
    const u = tgUser(1002, "en");
    const other = tgUser(1003, "ru");
    await h.send(textUpdate(u, "/start"));
    const { orderId } = await requestInvoice(h, u, "s250");
    const answer = async (upd: Parameters<Harness["send"]>[0]) => {
      await h.send(upd);
      return h.tg.callsOf("answerPreCheckoutQuery").at(-1)!.payload;
    };
    const okUpd = preCheckoutUpdate(u, { payload: orderId, amount: 250 });
    assert.deepEqual(await answer(okUpd), { pre_checkout_query_id: okUpd.pre_checkout_query!.id, ok: true });

    const wrongAmount = await answer(preCheckoutUpdate(u, { payload: orderId, amount: 1 }));
    assert.equal(wrongAmount.ok, false);
    assert.match(wrongAmount.error_message, /amount does not match/);
    const wrongCurrency = await answer(preCheckoutUpdate(u, { payload: orderId, amount: 250, currency: "RUB" }));
    assert.equal(wrongCurrency.ok, false);
    assert.match(wrongCurrency.error_message, /currency/);
    const otherPayer = await answer(preCheckoutUpdate(other, { payload: orderId, amount: 250 }));
    assert.equal(otherPayer.ok, false);
    assert.match(otherPayer.error_message, /другому пользователю/, "the other user's language is used");
    const unknown = await answer(preCheckoutUpdate(u, { payload: "ord_doesnotexist0000000", amount: 250 }));
    assert.equal(unknown.ok, false);
    assert.match(unknown.error_message, /not valid/);

    h.clock.t += 61 * 60_000; // past PAYMENTS_ORDER_TTL_MINUTES=60
    const expired = await answer(preCheckoutUpdate(u, { payload: orderId, amount: 250 }));
    h.clock.t -= 61 * 60_000;
    assert.equal(expired.ok, false);
    assert.match(expired.error_message, /expired/);

    await h.send(paymentUpdate(u, { payload: orderId, amount: 250, chargeId: `ch_${kind}_t12` }));
    const paid = await answer(preCheckoutUpdate(u, { payload: orderId, amount: 250 }));
    assert.equal(paid.ok, false);
    assert.match(paid.error_message, /already been paid/);
    // Nothing in pre-checkout wrote money.
    assert.equal(await ledgerCount(h.db, "topup", `tg_stars:ch_${kind}_t12`), 1);
  });

  test("T12 pre-checkout answers ok:false fast when the database is stuck", async () => {
    const u = tgUser(1004);
    await h.send(textUpdate(u, "/start"));
    const { orderId } = await requestInvoice(h, u, "s100");
    const slow = await startHarnessLike(h, 300);
    const t0 = Date.now();
    let elapsed = 0;
    await h.db.transaction(async (tx) => {
      await tx.execute(sql`lock table payment_orders in access exclusive mode`);
      await slow.handleUpdate(preCheckoutUpdate(u, { payload: orderId, amount: 100 }));
      elapsed = Date.now() - t0;
    });
    const a = h.tg.callsOf("answerPreCheckoutQuery").at(-1)!.payload;
    assert.equal(a.ok, false);
    assert.match(a.error_message, /temporarily unavailable/);
    assert.ok(elapsed < 3000, `answered in ${elapsed} ms`);
  });

  test("T13 successful_payment → one ledger row, balance += credits, order paid, one confirmation", async () => {
    const u = tgUser(1005);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    const { orderId } = await requestInvoice(h, u, "s100");
    await h.send(preCheckoutUpdate(u, { payload: orderId, amount: 100 }));
    h.tg.clear();
    await h.send(paymentUpdate(u, { payload: orderId, amount: 100, chargeId: `ch_${kind}_t13` }));
    assert.equal(await ledgerCount(h.db, "topup", `tg_stars:ch_${kind}_t13`), 1);
    assert.equal(await balanceOf(h.db, acct), 150_000_000n);
    const order = await orderRow(h.db, orderId);
    assert.equal(order?.status, "paid");
    assert.equal(order?.providerPaymentId, `ch_${kind}_t13`);
    assert.deepEqual(h.tg.texts(), ["Payment received: +₽150.00. Balance: ₽150.00."]);
  });

  test("T14 duplicate and concurrent delivery of one successful_payment credits once", async () => {
    const u = tgUser(1006);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    const { orderId } = await requestInvoice(h, u, "s500");
    const chargeId = `ch_${kind}_t14`;
    h.tg.clear();
    const same = paymentUpdate(u, { payload: orderId, amount: 500, chargeId });
    let deliveries = 0;
    await h.send(same);
    await h.send(same); // same update_id (webhook redelivery)
    await h.send(paymentUpdate(u, { payload: orderId, amount: 500, chargeId })); // new update_id, same charge
    deliveries += 3;
    const parallel = Array.from({ length: 20 }, () => paymentUpdate(u, { payload: orderId, amount: 500, chargeId }));
    await Promise.all(parallel.map((p) => h.send(p)));
    deliveries += parallel.length;
    const credits = await ledgerCount(h.db, "topup", `tg_stars:${chargeId}`);
    const paymentsRows = (await h.db.select().from(payments).where(eq(payments.providerPaymentId, chargeId))).length;
    assert.equal(credits, 1);
    assert.equal(paymentsRows, 1);
    assert.equal(await balanceOf(h.db, acct), 500n * STAR_MICROS);
    assert.equal(h.tg.texts().length, 1, "one confirmation message");
    assert.equal(await ledgerDrift(h.db), 0);
    const line = `[${kind}] duplicate delivery: deliveries sent = ${deliveries} (2 identical, 1 new update_id, 20 concurrent), credits applied = ${credits}, balance delta = ${500n * STAR_MICROS} micros`;
    console.log(`# ${line}`);
    writeFileSync(`/tmp/llm-gateway-figures-duplicate-${kind}.txt`, line + "\n");
  });

  test("T15 a second charge for an already-paid order is credited and flagged", async () => {
    const u = tgUser(1007);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    const { orderId } = await requestInvoice(h, u, "s100");
    await h.send(paymentUpdate(u, { payload: orderId, amount: 100, chargeId: `ch_${kind}_t15a` }));
    await h.send(paymentUpdate(u, { payload: orderId, amount: 100, chargeId: `ch_${kind}_t15b` }));
    assert.equal(await balanceOf(h.db, acct), 200n * STAR_MICROS);
    const second = await paymentRow(h.db, `ch_${kind}_t15b`);
    assert.equal(second?.duplicateOrder, true);
    const anomalies = await h.db.select().from(paymentAnomalies).where(eq(paymentAnomalies.ref, `ch_${kind}_t15b`));
    assert.deepEqual(anomalies.map((a) => a.reason), ["duplicate_order_payment"]);
  });

  test("T16 unknown payload and amount mismatch → anomaly, no credit, handler completes", async () => {
    const u = tgUser(1008);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    h.tg.clear();
    await h.send(paymentUpdate(u, { payload: "ord_unknownunknownunkn", amount: 100, chargeId: `ch_${kind}_t16` }));
    const { orderId } = await requestInvoice(h, u, "s100");
    await h.send(paymentUpdate(u, { payload: orderId, amount: 99, chargeId: `ch_${kind}_t16b` }));
    assert.equal(await balanceOf(h.db, acct), 0n);
    assert.equal(await ledgerCount(h.db, "topup", `tg_stars:ch_${kind}_t16`), 0);
    const reasons = (await h.db.select().from(paymentAnomalies)).filter((a) => a.ref.startsWith(`ch_${kind}_t16`)).map((a) => a.reason).sort();
    assert.deepEqual(reasons, ["amount_mismatch", "unknown_order"]);
    assert.match(h.tg.texts()[0]!, /could not match it/);
  });

  test("T18 /paysupport refund: refundStarPayment once, one debit; refunded_payment update and reconciliation change nothing", async () => {
    const u = tgUser(1009);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    const { orderId } = await requestInvoice(h, u, "s100");
    const chargeId = `ch_${kind}_t18`;
    h.tg.addIncomingStars({ chargeId, amount: 100, user: u, payload: orderId });
    await h.send(paymentUpdate(u, { payload: orderId, amount: 100, chargeId }));
    assert.equal(await balanceOf(h.db, acct), 150_000_000n);

    h.tg.clear();
    await h.send(textUpdate(u, "/paysupport"));
    const kb = h.tg.callsOf("sendMessage").at(-1)!.payload.reply_markup.inline_keyboard.flat();
    const pay = await paymentRow(h.db, chargeId);
    assert.deepEqual(kb.map((b: { callback_data: string }) => b.callback_data), [`ps:${pay!.id}`]);
    await h.send(callbackUpdate(u, `ps:${pay!.id}`));
    await h.send(callbackUpdate(u, `ps:${pay!.id}`));
    assert.match(h.tg.texts().at(-2)!, /^Refund request received\. Support will review it soon\.$/);
    assert.match(h.tg.texts().at(-1)!, /already open/);
    const reqs = await h.db.select().from(refundRequests).where(eq(refundRequests.paymentId, pay!.id));
    assert.equal(reqs.length, 1);

    // The admin approves: the provider is asked once, then the debit is posted.
    const gateways = { tg_stars: starsRefundGateway(h.bot.api) };
    let refundAttempts = 0;
    const r1 = await refundPayment(h.db, gateways, { paymentId: pay!.id, actor: "admin:test", requireUnspentBalance: true });
    refundAttempts++;
    assert.equal(r1.status, "refunded");
    assert.equal(h.tg.callsOf("refundStarPayment").length, 1);
    assert.deepEqual(h.tg.callsOf("refundStarPayment")[0]!.payload, { user_id: u.id, telegram_payment_charge_id: chargeId });
    // Telegram then sends refunded_payment; the reconciler sees the outgoing transaction; a second admin click.
    await h.send(refundUpdate(u, { payload: orderId, amount: 100, chargeId }));
    refundAttempts++;
    const rec = await reconcileStarTransactions(h.db, h.bot.api, { referralBasisPoints: h.cfg.referralBasisPoints });
    refundAttempts++;
    const r2 = await refundPayment(h.db, gateways, { paymentId: pay!.id, actor: "admin:test" });
    refundAttempts++;
    assert.equal(r2.status, "already_refunded");
    assert.equal(rec.refunded.length, 0);
    const debits = await ledgerCount(h.db, "payment_refund", `tg_stars:${chargeId}`);
    assert.equal(debits, 1);
    assert.equal(await balanceOf(h.db, acct), 0n);
    assert.equal(h.tg.callsOf("refundStarPayment").length, 1);
    assert.equal((await paymentRow(h.db, chargeId))?.status, "refunded");
    assert.equal((await orderRow(h.db, orderId))?.status, "refunded");
    assert.equal((await h.db.select().from(refundRequests).where(eq(refundRequests.paymentId, pay!.id)))[0]?.status, "done");
    const line = `[${kind}] refund: refund paths exercised = ${refundAttempts} (admin refund, refunded_payment update, reconciliation, second admin refund), refundStarPayment calls = 1, debits applied = ${debits}`;
    console.log(`# ${line}`);
    writeFileSync(`/tmp/llm-gateway-figures-refund-${kind}.txt`, line + "\n");
  });

  test("T18 refund: CHARGE_ALREADY_REFUNDED counts as success; other errors debit nothing and release the claim", async () => {
    const u = tgUser(1010);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    const gateways = { tg_stars: starsRefundGateway(h.bot.api) };
    const { orderId } = await requestInvoice(h, u, "s100");
    await h.send(paymentUpdate(u, { payload: orderId, amount: 100, chargeId: `ch_${kind}_t18b` }));
    const pay = (await paymentRow(h.db, `ch_${kind}_t18b`))!;

    h.tg.failNext("refundStarPayment", 400, "Bad Request: USER_ID_INVALID");
    const failed = await refundPayment(h.db, gateways, { paymentId: pay.id, actor: "admin:test" });
    assert.equal(failed.status, "provider_error");
    assert.equal(await ledgerCount(h.db, "payment_refund", `tg_stars:ch_${kind}_t18b`), 0);
    assert.equal((await paymentRow(h.db, `ch_${kind}_t18b`))?.status, "credited");

    h.tg.failNext("refundStarPayment", 400, "Bad Request: CHARGE_ALREADY_REFUNDED");
    const ok = await refundPayment(h.db, gateways, { paymentId: pay.id, actor: "admin:test" });
    assert.equal(ok.status, "refunded");
    assert.equal(await ledgerCount(h.db, "payment_refund", `tg_stars:ch_${kind}_t18b`), 1);
    assert.equal(await balanceOf(h.db, acct), 0n);
  });

  test("T18 /paysupport refund refuses when the credit was already spent", async () => {
    const u = tgUser(1011);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    const { orderId } = await requestInvoice(h, u, "s100");
    await h.send(paymentUpdate(u, { payload: orderId, amount: 100, chargeId: `ch_${kind}_t18c` }));
    await h.db.update(accounts).set({ reservedMicros: 100_000_000n }).where(eq(accounts.id, acct));
    const pay = (await paymentRow(h.db, `ch_${kind}_t18c`))!;
    const r = await refundPayment(h.db, { tg_stars: starsRefundGateway(h.bot.api) }, { paymentId: pay.id, actor: "admin:test", requireUnspentBalance: true });
    assert.equal(r.status, "insufficient_balance");
    assert.equal((await paymentRow(h.db, `ch_${kind}_t18c`))?.status, "credited");
    await h.db.update(accounts).set({ reservedMicros: 0n }).where(eq(accounts.id, acct));
  });

  test("T19 reconciliation credits a payment whose update was lost, once; a late update and a rerun change nothing", async () => {
    const u = tgUser(1012);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    const { orderId } = await requestInvoice(h, u, "s250");
    const chargeId = `ch_${kind}_t19`;
    h.tg.addIncomingStars({ chargeId, amount: 250, user: u, payload: orderId }); // paid, but the update never arrived
    const first = await reconcileStarTransactions(h.db, h.bot.api, { referralBasisPoints: h.cfg.referralBasisPoints, pageSize: 2 });
    assert.deepEqual(first.credited, [chargeId]);
    assert.equal(await balanceOf(h.db, acct), 250n * STAR_MICROS);
    assert.equal((await paymentRow(h.db, chargeId))?.source, "reconcile");
    const second = await reconcileStarTransactions(h.db, h.bot.api, { referralBasisPoints: h.cfg.referralBasisPoints, pageSize: 2 });
    assert.deepEqual(second.credited, []);
    h.tg.clear();
    await h.send(paymentUpdate(u, { payload: orderId, amount: 250, chargeId })); // the lost update shows up after all
    assert.deepEqual(h.tg.texts(), [], "duplicate stays silent");
    assert.equal(await ledgerCount(h.db, "topup", `tg_stars:${chargeId}`), 1);
    assert.equal(await balanceOf(h.db, acct), 250n * STAR_MICROS);

    // A refund Telegram made on its own (outgoing transaction, same id) is debited once.
    h.tg.starTransactions.push({ id: chargeId, amount: 250, date: 1, receiver: { type: "user", transaction_type: "invoice_payment", user: u } });
    const third = await reconcileStarTransactions(h.db, h.bot.api, { referralBasisPoints: h.cfg.referralBasisPoints, pageSize: 2 });
    assert.deepEqual(third.refunded, [chargeId]);
    await reconcileStarTransactions(h.db, h.bot.api, { referralBasisPoints: h.cfg.referralBasisPoints, pageSize: 2, overlap: 1000 });
    assert.equal(await ledgerCount(h.db, "payment_refund", `tg_stars:${chargeId}`), 1);
    assert.equal(await balanceOf(h.db, acct), 0n);
    assert.equal(await ledgerDrift(h.db), 0);
  });

  test("E3 a refund that arrives before its payment is parked and applied when the payment is credited", async () => {
    const u = tgUser(1013);
    await h.send(textUpdate(u, "/start"));
    const acct = await accountIdOf(h.db, u.id);
    const { orderId } = await requestInvoice(h, u, "s100");
    const chargeId = `ch_${kind}_e3`;
    await h.send(refundUpdate(u, { payload: orderId, amount: 100, chargeId }));
    assert.equal(await balanceOf(h.db, acct), 0n);
    await Promise.all([
      h.send(paymentUpdate(u, { payload: orderId, amount: 100, chargeId })),
      h.send(paymentUpdate(u, { payload: orderId, amount: 100, chargeId })),
    ]);
    assert.equal(await ledgerCount(h.db, "topup", `tg_stars:${chargeId}`), 1);
    assert.equal(await ledgerCount(h.db, "payment_refund", `tg_stars:${chargeId}`), 1);
    assert.equal(await balanceOf(h.db, acct), 0n);
    assert.equal((await paymentRow(h.db, chargeId))?.status, "refunded");
  });

  test("T17 payment handlers run before everything else: a payment in a chat with pending text is still credited", async () => {
    const u = tgUser(1014);
    await h.send(textUpdate(u, "/start"));
    const { orderId } = await requestInvoice(h, u, "s100");
    const upd = paymentUpdate(u, { payload: orderId, amount: 100, chargeId: `ch_${kind}_t17` });
    (upd.message as { text?: string }).text = "hello"; // would hit the text fallback if it ran first
    await h.send(upd);
    assert.equal(await ledgerCount(h.db, "topup", `tg_stars:ch_${kind}_t17`), 1);
  });

  test("ledger drift is zero after all of the above", async () => {
    assert.equal(await ledgerDrift(h.db), 0);
    const orders = await h.db.select({ n: sql<number>`count(*)::int` }).from(paymentOrders);
    assert.ok(Number(orders[0]!.n) > 5);
  });
});

/** A second bot on the same database and fake Bot API, with a short pre-checkout deadline. */
async function startHarnessLike(h: Harness, timeoutMs: number) {
  const { createBot } = await import("../../src/bot/bot.js");
  const { BOT_INFO, BOT_TOKEN } = await import("../helpers/fake-telegram.js");
  return createBot({ db: h.db, token: BOT_TOKEN, apiRoot: h.tg.apiRoot, botInfo: BOT_INFO, payments: h.cfg, clock: h.clock, logger: h.logger, preCheckoutTimeoutMs: timeoutMs });
}

describeEachDb("telegram provider invoices (RUB)", (kind, create) => {
  let h: Harness;
  before(async () => {
    h = await startHarness(create, { TELEGRAM_PROVIDER_TOKEN: "381764678:TEST:12345", PAYMENTS_RUB_PACKAGES: "500", PAYMENTS_STAR_PACKAGES: "100" });
  });
  after(async () => {
    await h.close();
  });

  test("with a provider token /pay also offers RUB; the invoice carries the token and kopecks; payment credits once", async () => {
    const u = tgUser(1101, "ru");
    await h.send(textUpdate(u, "/pay"));
    const kb = h.tg.callsOf("sendMessage").at(-1)!.payload.reply_markup.inline_keyboard.flat();
    assert.deepEqual(
      kb.map((b: { text: string; callback_data: string }) => [b.text, b.callback_data]),
      [
        ["100 ⭐ → 150,00\u00a0₽", "pay:s100"],
        ["500,00\u00a0₽ → 500,00\u00a0₽", "pay:r500"],
      ],
    );
    const { orderId, call } = await requestInvoice(h, u, "r500");
    assert.equal(call.payload.currency, "RUB");
    assert.equal(call.payload.provider_token, "381764678:TEST:12345");
    assert.deepEqual(call.payload.prices, [{ label: "Баланс API", amount: 50000 }]);
    await h.send(preCheckoutUpdate(u, { payload: orderId, amount: 50000, currency: "RUB" }));
    assert.equal(h.tg.callsOf("answerPreCheckoutQuery").at(-1)!.payload.ok, true);
    await h.send(preCheckoutUpdate(u, { payload: orderId, amount: 500, currency: "RUB" }));
    assert.equal(h.tg.callsOf("answerPreCheckoutQuery").at(-1)!.payload.ok, false, "500 kopecks is not 500 rubles");
    const upd = paymentUpdate(u, { payload: orderId, amount: 50000, chargeId: `tgp_${kind}`, currency: "RUB" });
    (upd.message!.successful_payment as { provider_payment_charge_id: string }).provider_payment_charge_id = "2d8f0c1e-000f-5000-9000-1b2c3d4e5f60";
    await h.send(upd);
    await h.send(upd);
    const acct = await accountIdOf(h.db, u.id);
    assert.equal(await balanceOf(h.db, acct), 500_000_000n);
    const p = await paymentRow(h.db, `tgp_${kind}`);
    assert.equal(p?.provider, "tg_provider");
    assert.equal(p?.providerChargeId, "2d8f0c1e-000f-5000-9000-1b2c3d4e5f60");
    assert.equal(await ledgerCount(h.db, "topup", `tg_provider:tgp_${kind}`), 1);
  });
});
