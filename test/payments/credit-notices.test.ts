import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { referralCommissionNotifier } from "../../src/bot/bot.js";
import { accounts } from "../../src/db/schema/index.js";
import type { CreditNotices } from "../../src/payments/credit.js";
import { DEFAULT_YOOKASSA_IPS, IpAllowlist } from "../../src/payments/ip-allowlist.js";
import { reconcileStarTransactions } from "../../src/payments/stars-reconcile.js";
import { createWebTopup, handleYooKassaNotification, pollPendingYooKassaOrders, YooKassaClient } from "../../src/payments/yookassa.js";
import { accountIdOf, balanceOf, requestInvoice, startHarness, type Harness } from "../bot/harness.js";
import { describeEachDb } from "../helpers/db.js";
import { FakeYooKassa } from "../helpers/fake-yookassa.js";
import { textUpdate, tgUser } from "../helpers/fake-telegram.js";

const YOO_IP = "185.71.76.5";

describeEachDb("every crediting path tells the inviter of a commission (not only the bot's own payments)", (kind, create) => {
  let h: Harness;
  let yoo: FakeYooKassa;
  let inviter: ReturnType<typeof tgUser>;
  let inviterAcct: string;
  let inviteeAcct: string;
  let invitee: ReturnType<typeof tgUser>;
  const credited: string[] = [];
  let notices: CreditNotices;

  before(async () => {
    yoo = new FakeYooKassa();
    await yoo.start();
    h = await startHarness(create, { YOOKASSA_SHOP_ID: yoo.shopId, YOOKASSA_SECRET_KEY: yoo.secretKey, YOOKASSA_API_ROOT: yoo.apiRoot, PUBLIC_URL: "https://gw.example.com" });
    inviter = tgUser(kind === "pglite" ? 3301 : 3401);
    await h.send(textUpdate(inviter, "/start"));
    inviterAcct = await accountIdOf(h.db, inviter.id);
    const code = (await h.db.select({ c: accounts.referralCode }).from(accounts).where(eq(accounts.id, inviterAcct)))[0]!.c!;
    invitee = tgUser(inviter.id + 1, "ru");
    await h.send(textUpdate(invitee, `/start ref_${code}`));
    inviteeAcct = await accountIdOf(h.db, invitee.id);
    // What main/payments.ts puts on the payments runtime while the bot runs (plus the upstream keys' hook).
    notices = { onReferralCommission: referralCommissionNotifier(h.db, h.bot.api, "RUB", h.logger), onCredited: (id) => void credited.push(id) };
  });
  after(async () => {
    await h?.close();
    await yoo?.close();
  });

  const commissionNotices = () => h.tg.callsOf("sendMessage").filter((c) => c.payload.chat_id === inviter.id && /^Referral commission/.test(String(c.payload.text)));

  test("a Stars payment found by reconciliation (its update was lost)", async () => {
    const { orderId } = await requestInvoice(h, invitee, "s100"); // 100 ⭐ = 150 ₽ → 15 ₽ commission
    h.tg.addIncomingStars({ chargeId: `ch_${kind}_notice`, amount: 100, user: invitee, payload: orderId });
    credited.length = 0;
    const r = await reconcileStarTransactions(h.db, h.bot.api, { referralBasisPoints: h.cfg.referralBasisPoints, notices });
    assert.deepEqual(r.credited, [`ch_${kind}_notice`]);
    assert.deepEqual(commissionNotices().map((c) => c.payload.text), ["Referral commission: +₽15.00 from a friend's top-up. Balance: ₽15.00."]);
    assert.deepEqual(credited.sort(), [inviteeAcct, inviterAcct].sort(), "both balances changed");
    // A rerun credits nothing and tells nobody again.
    await reconcileStarTransactions(h.db, h.bot.api, { referralBasisPoints: h.cfg.referralBasisPoints, notices, overlap: 1000 });
    assert.equal(commissionNotices().length, 1);
  });

  test("a YooKassa payment, by its webhook and by polling", async () => {
    const client = new YooKassaClient(h.cfg.yookassa!, { timeoutMs: 2000 });
    const allow = new IpAllowlist(DEFAULT_YOOKASSA_IPS);
    const before = await balanceOf(h.db, inviterAcct);
    const t = await createWebTopup(h.db, client, h.cfg, { accountId: inviteeAcct, userId: null, amountKopecks: 50_000n }, h.clock);
    yoo.setStatus(t.paymentId, "succeeded");
    const out = await handleYooKassaNotification(h.db, client, h.cfg, { sourceIp: YOO_IP, body: { event: "payment.succeeded", object: { id: t.paymentId } } }, allow, notices);
    assert.equal(out.status, "credited");
    assert.equal(await balanceOf(h.db, inviterAcct), before + 50_000_000n, "10 % of 500 ₽");
    assert.equal(commissionNotices().at(-1)!.payload.text, "Referral commission: +₽50.00 from a friend's top-up. Balance: ₽65.00.");

    const p = await createWebTopup(h.db, client, h.cfg, { accountId: inviteeAcct, userId: null, amountKopecks: 20_000n }, h.clock);
    yoo.setStatus(p.paymentId, "succeeded");
    const polled = await pollPendingYooKassaOrders(h.db, client, h.cfg, { now: () => h.clock.now() + 11 * 60_000 }, { notices });
    assert.equal(polled.credited, 1);
    assert.equal(commissionNotices().at(-1)!.payload.text, "Referral commission: +₽20.00 from a friend's top-up. Balance: ₽85.00.");
    assert.equal(commissionNotices().length, 3);
  });
});
