import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { emailTokens, paymentReceipts, payments, users } from "../../src/db/schema/index.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { startSmtpSink, type ReceivedMail } from "../helpers/smtp.js";
import { sendPaymentReceipts, mailLowBalance } from "../../src/mail/customer-notices.js";
import { createMailer } from "../../src/mail/mailer.js";
import { postLedgerEntry } from "../../src/billing/ledger.js";

const tokenIn = (m: ReceivedMail) => /token=([A-Za-z0-9_-]+)/.exec(m.text)?.[1] ?? "";

describeEachDb("e-mail through a local SMTP server", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;

  before(async () => {
    db = await createDb();
    smtp = await startSmtpSink();
    gw = await startTestGateway({
      database: db,
      env: { TELEGRAM_MODE: "off", SMTP_HOST: "127.0.0.1", SMTP_PORT: String(smtp.port), MAIL_FROM: "Gateway <billing@gw.test>", PUBLIC_URL: "https://gw.test", PASSWORD_RESET_TTL_MIN: "30" },
    });
  });
  after(async () => {
    await gw?.stop();
    await smtp?.close();
    await db?.drop();
  });

  const post = (path: string, body: unknown) => fetch(gw.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  test("register sends a verification link; it confirms the address once", async () => {
    const r = await post("/v1/auth/register", { email: "Anna@Example.com", password: "correct-horse-battery" });
    assert.equal(r.status, 201, await r.clone().text());
    const [m] = await smtp.waitFor(1);
    assert.ok(m, "a mail arrived");
    assert.deepEqual(m.to, ["anna@example.com"]);
    assert.equal(m.from, "billing@gw.test");
    assert.equal(m.subject, "Confirm your e-mail address");
    assert.match(m.text, /https:\/\/gw\.test\/verify-email\?token=ev_/);
    assert.match(m.text, /valid for 24 hours/);
    const token = tokenIn(m);
    const ok = await fetch(`${gw.url}/v1/auth/email/verify?token=${token}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: "verified", email: "anna@example.com" });
    const [u] = await db.db.select().from(users).where(eq(users.email, "anna@example.com"));
    assert.ok(u!.emailVerifiedAt, "marked verified");
    const again = await post("/v1/auth/email/verify", { token });
    assert.equal(again.status, 400, "single use");
    assert.equal(((await again.json()) as any).error.param, "token");
    const stored = await db.db.select().from(emailTokens).where(eq(emailTokens.userId, u!.id));
    assert.ok(stored.every((t) => !JSON.stringify(t).includes(token)), "only the hash is stored");
  });

  test("password reset round trip: same answer for unknown addresses, single-use expiring token, sessions ended, Russian text", async () => {
    const reg = await post("/v1/auth/register", { email: "ivan@example.ru", password: "old-password-123" });
    assert.equal(reg.status, 201);
    const session = (await reg.json()) as { access_token: string };
    const [u] = await db.db.select().from(users).where(eq(users.email, "ivan@example.ru"));
    await db.db.update(users).set({ locale: "ru" }).where(eq(users.id, u!.id));
    const before = smtp.mails.length;

    const unknown = await post("/v1/auth/password/reset", { email: "nobody@example.ru" });
    const known = await post("/v1/auth/password/reset", { email: "IVAN@example.ru" });
    assert.equal(unknown.status, 202);
    assert.equal(known.status, 202);
    assert.deepEqual(await unknown.json(), await known.json(), "no user enumeration in the body");
    const mails = await smtp.waitFor(before + 2); // the verification mail of the registration + the reset
    const reset = mails.slice(before).find((m) => m.subject === "Сброс пароля");
    assert.ok(reset, `a Russian reset mail arrived: ${mails.slice(before).map((m) => m.subject).join(" | ")}`);
    assert.deepEqual(reset.to, ["ivan@example.ru"]);
    assert.match(reset.text, /действует 30 минут и работает один раз/);
    assert.ok(!mails.some((m) => m.to.includes("nobody@example.ru")), "nothing sent to an unknown address");

    // A second request within a minute sends nothing more (no mailbox flooding).
    await post("/v1/auth/password/reset", { email: "ivan@example.ru" });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(smtp.mails.filter((m) => m.subject === "Сброс пароля").length, 1);

    const token = tokenIn(reset);
    const weak = await post("/v1/auth/password/reset/confirm", { token, password: "x" });
    assert.equal(weak.status, 400);
    const ok = await post("/v1/auth/password/reset/confirm", { token, password: "new-password-456" });
    assert.equal(ok.status, 200, await ok.clone().text());
    const reuse = await post("/v1/auth/password/reset/confirm", { token, password: "another-password-789" });
    assert.equal(reuse.status, 400, "the link works once");
    assert.equal((await post("/v1/auth/login", { email: "ivan@example.ru", password: "old-password-123" })).status, 401);
    assert.equal((await post("/v1/auth/login", { email: "ivan@example.ru", password: "new-password-456" })).status, 200);
    const me = await fetch(`${gw.url}/v1/auth/me`, { headers: { authorization: `Bearer ${session.access_token}` } });
    assert.equal(me.status, 401, "the old session ended with the reset");

    // An expired link is refused.
    await db.db.delete(emailTokens);
    const n = smtp.mails.length;
    await new Promise((r) => setTimeout(r, 10));
    await db.db.update(users).set({ locale: "en" }).where(eq(users.id, u!.id));
    // (bypass the one-minute gap: no reset tokens are left)
    await post("/v1/auth/password/reset", { email: "ivan@example.ru" });
    const [late] = (await smtp.waitFor(n + 1)).slice(n);
    assert.equal(late!.subject, "Reset your password");
    await db.db.update(emailTokens).set({ expiresAt: new Date(Date.now() - 1000) });
    assert.equal((await post("/v1/auth/password/reset/confirm", { token: tokenIn(late!), password: "third-password-000" })).status, 400);
  });

  test("payment receipts and low-balance notices go to confirmed addresses, once", async () => {
    const [anna] = await db.db.select().from(users).where(eq(users.email, "anna@example.com"));
    await db.db.transaction((tx) => postLedgerEntry(tx, { accountId: anna!.accountId, kind: "topup", amountMicros: 1_500_000_000n, ref: "test-topup" }));
    await db.db.insert(payments).values({ id: "pay_test1", provider: "yookassa", providerPaymentId: "yk-1", accountId: anna!.accountId, orderId: "ord_x", currency: "RUB", amountMinor: 150000n, creditsMicros: 1_500_000_000n, source: "webhook" });
    const mailer = createMailer({ host: "127.0.0.1", port: smtp.port, secure: false, from: "Gateway <billing@gw.test>" })!;
    const n = smtp.mails.length;
    assert.equal(await sendPaymentReceipts(db.db, mailer, "RUB", new Date(Date.now() - 3600_000)), 1);
    assert.equal(await sendPaymentReceipts(db.db, mailer, "RUB", new Date(Date.now() - 3600_000)), 0, "claimed: never twice");
    const [receipt] = (await smtp.waitFor(n + 1)).slice(n);
    assert.equal(receipt!.subject, "Payment received: 1500.00 RUB");
    assert.match(receipt!.text, /Reference: pay_test1/);
    assert.equal((await db.db.select().from(paymentReceipts))[0]!.recipients, 1);
    assert.equal(await mailLowBalance(db.db, mailer, "RUB", anna!.accountId, 5_000_000n, 10_000_000n), 1);
    const [low] = (await smtp.waitFor(n + 2)).slice(n + 1);
    assert.equal(low!.subject, "Your balance is running low");
    assert.match(low!.text, /5\.00 RUB, below your threshold of 10\.00 RUB/);
    mailer.close();
  });
});
