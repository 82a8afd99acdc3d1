import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { createAccount } from "../../src/accounts/users.js";
import { loadEnv } from "../../src/config/env.js";
import { AppError } from "../../src/core/errors.js";
import type { Db } from "../../src/db/client.js";
import { paymentOrders, payments } from "../../src/db/schema/index.js";
import { paymentsSettings as paymentsConfigFromEnv } from "../../src/main/settings.js";
import type { PaymentsConfig } from "../../src/payments/config.js";
import { DEFAULT_YOOKASSA_IPS, IpAllowlist, sourceIp } from "../../src/payments/ip-allowlist.js";
import { refundPayment } from "../../src/payments/refunds.js";
import { formatKopecks, parseKopecks } from "../../src/payments/rub.js";
import { createWebTopup, handleYooKassaNotification, pollPendingYooKassaOrders, YooKassaClient, yooKassaRefundGateway } from "../../src/payments/yookassa.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { FakeYooKassa } from "../helpers/fake-yookassa.js";
import { balanceOf, ledgerCount, ledgerDrift } from "../bot/harness.js";

const YOO_IP = "185.71.76.5";

test("T5 YooKassa IP allowlist: CIDR edges, single addresses, IPv6, v4-mapped, X-Forwarded-For hops", () => {
  const a = new IpAllowlist(DEFAULT_YOOKASSA_IPS);
  for (const ip of ["185.71.76.0", "185.71.76.31", "185.71.77.0", "185.71.77.31", "77.75.153.0", "77.75.153.127", "77.75.156.11", "77.75.156.35", "77.75.154.128", "77.75.154.255", "2a02:5180::1", "2a02:5180:ffff::1", "::ffff:185.71.76.1"]) {
    assert.equal(a.has(ip), true, ip);
  }
  for (const ip of ["185.71.76.32", "185.71.75.255", "185.71.77.32", "77.75.153.128", "77.75.156.12", "77.75.154.127", "2a02:5181::1", "127.0.0.1", "::1", "", "garbage", null]) {
    assert.equal(a.has(ip), false, String(ip));
  }
  assert.equal(sourceIp("10.0.0.1", "185.71.76.5", 0), "10.0.0.1", "without proxies the header is ignored");
  assert.equal(sourceIp("10.0.0.1", "185.71.76.5, 203.0.113.9", 1), "203.0.113.9", "the client-supplied first hop is not trusted");
  assert.equal(sourceIp("10.0.0.1", "1.1.1.1, 185.71.76.5, 10.0.0.2", 2), "185.71.76.5");
  assert.equal(sourceIp("10.0.0.1", "", 1), null);
  assert.throws(() => new IpAllowlist(["1.2.3.4/33"]));
});

test("T7 RUB amounts: decimal strings ↔ kopecks, no floats", () => {
  assert.equal(parseKopecks("100.00"), 10000n);
  assert.equal(parseKopecks("100"), 10000n);
  assert.equal(parseKopecks("0.1"), 10n);
  for (const bad of ["1e3", "-1.00", "100.001", "", "1,00", " "]) assert.throws(() => parseKopecks(bad), bad);
  assert.equal(formatKopecks(149000n), "1490.00");
  assert.equal(formatKopecks(5n), "0.05");
});

describeEachDb("yookassa web top-up", (kind, create) => {
  let database: TestDatabase;
  let db: Db;
  let yoo: FakeYooKassa;
  let cfg: PaymentsConfig;
  let client: YooKassaClient;
  let accountId: string;
  const clock = { now: () => Date.now() };
  const allow = new IpAllowlist(DEFAULT_YOOKASSA_IPS);

  before(async () => {
    database = await create();
    db = database.db;
    yoo = new FakeYooKassa();
    await yoo.start();
    cfg = paymentsConfigFromEnv(
      loadEnv({ YOOKASSA_SHOP_ID: yoo.shopId, YOOKASSA_SECRET_KEY: yoo.secretKey, YOOKASSA_API_ROOT: yoo.apiRoot, PUBLIC_URL: "https://gw.example.com", REFERRAL_PERCENT: "0" }),
    );
    client = new YooKassaClient(cfg.yookassa!, { timeoutMs: 2000 });
    accountId = (await createAccount(db, { name: `web-${kind}` })).id;
  });
  after(async () => {
    await yoo.close();
    await database.drop();
  });

  const notify = (paymentId: string, ip = YOO_IP, event = "payment.succeeded") =>
    handleYooKassaNotification(db, client, cfg, { sourceIp: ip, body: { type: "notification", event, object: { id: paymentId, status: "succeeded", amount: { value: "999999.00", currency: "RUB" } } } }, allow);

  test("T32 create: Idempotence-Key sent, reused after a lost response, new for a new order; payment id stored before the redirect", async () => {
    yoo.dropNextCreateResponse = true;
    const t = await createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 50_000n }, clock);
    const creates = yoo.requests.filter((r) => r.method === "POST" && r.path === "/payments");
    assert.equal(creates.length, 2, "retried once after the dropped response");
    assert.ok(creates[0]!.idempotenceKey && creates[0]!.idempotenceKey === creates[1]!.idempotenceKey);
    assert.equal(yoo.payments.size, 1, "the retry did not create a second payment");
    assert.deepEqual(creates[0]!.body.amount, { value: "500.00", currency: "RUB" });
    assert.equal(creates[0]!.body.confirmation.type, "redirect");
    assert.equal(creates[0]!.body.confirmation.return_url, "https://gw.example.com/dashboard/billing");
    assert.equal(creates[0]!.body.metadata.order_id, t.orderId);
    const order = (await db.select().from(paymentOrders).where(eq(paymentOrders.id, t.orderId)))[0]!;
    assert.equal(order.providerPaymentId, t.paymentId);
    assert.equal(order.status, "pending");
    assert.equal(order.confirmationUrl, t.confirmationUrl);
    assert.equal(order.idempotenceKey, creates[0]!.idempotenceKey);
    const t2 = await createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 50_000n }, clock);
    assert.notEqual(yoo.requests.at(-1)!.idempotenceKey, creates[0]!.idempotenceKey);
    assert.notEqual(t2.paymentId, t.paymentId);
    await assert.rejects(createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 100n }, clock), (e: unknown) => e instanceof AppError && e.code === "invalid_request");
  });

  test("T31 forged notification from a foreign IP is refused before any re-fetch", async () => {
    const t = await createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 20_000n }, clock);
    yoo.setStatus(t.paymentId, "succeeded");
    const gets = yoo.gets();
    const before = await balanceOf(db, accountId);
    for (const ip of ["203.0.113.7", "185.71.76.32", "::1", ""]) {
      await assert.rejects(notify(t.paymentId, ip), (e: unknown) => e instanceof AppError && e.code === "ip_not_allowed" && e.status === 403);
    }
    assert.equal(yoo.gets(), gets, "no re-fetch for a refused sender");
    assert.equal(await balanceOf(db, accountId), before);
  });

  test("T31 a notification whose payment is not succeeded when fetched back credits nothing; succeeded twice credits once", async () => {
    const t = await createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 30_000n }, clock);
    const before = await balanceOf(db, accountId);
    const pending = await notify(t.paymentId);
    assert.deepEqual(pending, { status: "not_succeeded", paymentStatus: "pending" }, "the body claims succeeded; the API says pending");
    assert.equal(await balanceOf(db, accountId), before);
    assert.equal(await ledgerCount(db, "topup", `yookassa:${t.paymentId}`), 0);

    yoo.setStatus(t.paymentId, "succeeded");
    const first = await notify(t.paymentId);
    const second = await notify(t.paymentId);
    const concurrent = await Promise.all([notify(t.paymentId), notify(t.paymentId)]);
    assert.equal(first.status, "credited");
    assert.equal(second.status, "duplicate");
    assert.deepEqual(concurrent.map((c) => c.status), ["duplicate", "duplicate"]);
    assert.equal(await ledgerCount(db, "topup", `yookassa:${t.paymentId}`), 1);
    assert.equal(await balanceOf(db, accountId), before + 300_000_000n, "300 RUB × PAYMENTS_RUB_RATE 1, once");
    assert.equal((await db.select().from(paymentOrders).where(eq(paymentOrders.id, t.orderId)))[0]!.status, "paid");
  });

  test("T31 re-fetch failure → 503 (YooKassa retries); canceled payment cancels the order; unknown id credits nothing", async () => {
    const t = await createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 10_000n }, clock);
    yoo.setStatus(t.paymentId, "succeeded");
    yoo.failNextGet = 500;
    await assert.rejects(notify(t.paymentId), (e: unknown) => e instanceof AppError && e.status === 503);
    assert.equal(await ledgerCount(db, "topup", `yookassa:${t.paymentId}`), 0);
    assert.equal((await notify(t.paymentId)).status, "credited", "the retry succeeds");

    const c = await createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 10_000n }, clock);
    yoo.setStatus(c.paymentId, "canceled");
    assert.equal((await notify(c.paymentId, YOO_IP, "payment.canceled")).status, "canceled");
    assert.equal((await db.select().from(paymentOrders).where(eq(paymentOrders.id, c.orderId)))[0]!.status, "canceled");
    assert.deepEqual(await notify("00000000-0000-0000-0000-000000000000"), { status: "rejected", reason: "unknown_payment" });
    await assert.rejects(
      handleYooKassaNotification(db, client, cfg, { sourceIp: YOO_IP, body: { nonsense: true } }, allow),
      (e: unknown) => e instanceof AppError && e.code === "invalid_request",
    );
  });

  test("missed notification: polling pending orders credits once", async () => {
    const t = await createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 12_345n }, clock);
    yoo.setStatus(t.paymentId, "succeeded");
    const later = { now: () => Date.now() + 11 * 60_000 };
    const r1 = await pollPendingYooKassaOrders(db, client, cfg, later);
    const r2 = await pollPendingYooKassaOrders(db, client, cfg, later);
    // Also picks up the earlier test's payment that succeeded but whose notification was refused.
    assert.equal(r1.credited, 2);
    assert.equal(r2.credited, 0);
    assert.equal(await ledgerCount(db, "topup", `yookassa:${t.paymentId}`), 1);
    assert.equal((await notify(t.paymentId)).status, "duplicate");
  });

  test("admin refund through YooKassa debits once; refund.succeeded notification afterwards changes nothing", async () => {
    const t = await createWebTopup(db, client, cfg, { accountId, userId: null, amountKopecks: 40_000n }, clock);
    yoo.setStatus(t.paymentId, "succeeded");
    await notify(t.paymentId);
    const before = await balanceOf(db, accountId);
    const pay = (await db.select().from(payments).where(eq(payments.providerPaymentId, t.paymentId)))[0]!;
    const r = await refundPayment(db, { yookassa: yooKassaRefundGateway(client) }, { paymentId: pay.id, actor: "admin:test" });
    assert.equal(r.status, "refunded");
    const refundReq = yoo.requests.filter((x) => x.path === "/refunds").at(-1)!;
    assert.equal(refundReq.idempotenceKey, `refund-${pay.id}`);
    assert.deepEqual(refundReq.body, { payment_id: t.paymentId, amount: { value: "400.00", currency: "RUB" } });
    const refundId = [...yoo.refunds.values()].find((x) => x.payment_id === t.paymentId)!.id;
    const n = await handleYooKassaNotification(db, client, cfg, { sourceIp: YOO_IP, body: { event: "refund.succeeded", object: { id: refundId } } }, allow);
    assert.equal(n.status, "refund_ignored");
    assert.equal(await ledgerCount(db, "payment_refund", `yookassa:${t.paymentId}`), 1);
    assert.equal(await balanceOf(db, accountId), before - 400_000_000n);
    assert.equal(await ledgerDrift(db), 0);
  });
});
