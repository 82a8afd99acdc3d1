import { billingSettings } from "../../src/main/settings.js";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import { adjustBalance, assignTariff, createTariff, deleteTariff, setFxRate, updateTariff, upsertPrice } from "../../src/billing/admin.js";
import { ensureBillingDefaults } from "../../src/billing/defaults.js";
import { AppError } from "../../src/core/errors.js";
import { newRequestId } from "../../src/core/ids.js";
import { auditLog, fxRates, ledgerEntries, tariffs } from "../../src/db/schema/index.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { account, authFor, billingFor, drift, makeAccount, model, served, settledAll, testEnv, usage } from "./helpers.js";

const MINI = model("t/mini", { input: "0.15", output: "0.6" });
const isCode = (code: string) => (e: unknown) => e instanceof AppError && e.code === code;

describeEachDb("billing tariffs, markups and adjustments", (_kind, create) => {
  let d: TestDatabase;
  before(async () => {
    d = await create();
    await ensureBillingDefaults(d.db, billingSettings(testEnv()));
  });
  after(async () => {
    await d?.drop();
  });

  test("start-up seeds one default tariff (DEFAULT_MARKUP) and the first FX rate, idempotently", async () => {
    await Promise.all([ensureBillingDefaults(d.db, billingSettings(testEnv())), ensureBillingDefaults(d.db, billingSettings(testEnv()))]);
    const defaults = await d.db.select().from(tariffs).where(eq(tariffs.isDefault, true));
    assert.equal(defaults.length, 1);
    assert.equal(defaults[0]!.markupPpm, 1_500_000n);
    const rates = await d.db.select().from(fxRates);
    assert.equal(rates.length, 1);
    assert.equal(rates[0]!.rateMicros, 100_000_000n);
  });

  test("markup: tariff, then the book's per-model markup, then the tariff's per-model override", async () => {
    const billing = billingFor(d.db);
    const price = async (acct: string) => {
      const r = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct, { tariffId: (await account(d.db, acct)).tariffId }), endpoint: "chat.completions", model: MINI, promptTokens: 1000, requestedMaxTokens: 500 });
      return (await r.settle(usage(1000, 500), served())).priceMicros;
    };
    const plain = await makeAccount(d.db, "10");
    assert.equal(await price(plain), 67_500n, "default tariff × 1.5");
    const t2 = await createTariff(d.db, { name: "Double", markupPpm: 2_000_000n }, "admin:test");
    const acct = await makeAccount(d.db, "10", { tariffId: t2.id });
    assert.equal(await price(acct), 90_000n, "× 2");
    await upsertPrice(d.db, { modelId: "t/mini", providerId: "*", prices: { input: 150_000n, output: 600_000n, cachedInput: null, reasoning: null }, markupPpm: 1_200_000n, contextLength: null, maxOutput: null, name: null }, "admin:test");
    billing.config.invalidate();
    assert.equal(await price(acct), 54_000n, "the book's per-model markup beats the tariff markup");
    await updateTariff(d.db, t2.id, { modelMarkups: { "t/mini": "1.1" } }, "admin:test");
    billing.config.invalidate();
    assert.equal(await price(acct), 49_500n, "the tariff's per-model markup wins");
    // The FX rate applies to new requests.
    await setFxRate(d.db, "RUB", 90_000_000n, "test", "admin:test");
    billing.config.invalidate();
    assert.equal(await price(acct), 44_550n);
    await setFxRate(d.db, "RUB", 100_000_000n, "back", "admin:test");
    billing.config.invalidate();
    const audits = await d.db.select().from(auditLog).where(eq(auditLog.targetType, "fx_rate"));
    assert.equal(audits.length, 2);
  });

  test("allowed models of a tariff", async () => {
    const t = await createTariff(d.db, { name: "OpenAI only", markupPpm: 1_000_000n, allowedModels: ["openai/*", "t/mini"] }, "admin:test");
    const acct = await makeAccount(d.db, "10", { tariffId: t.id });
    const billing = billingFor(d.db);
    const auth = authFor(acct, { tariffId: t.id });
    await assert.rejects(billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: model("anthropic/claude", { input: "1", output: "1" }), promptTokens: 1, requestedMaxTokens: 1 }), isCode("model_not_allowed"));
    const ok1 = await billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: model("openai/gpt-4o", { input: "1", output: "1" }), promptTokens: 1, requestedMaxTokens: 1 });
    const ok2 = await billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: MINI, promptTokens: 1, requestedMaxTokens: 1 });
    await Promise.all([ok1.release(), ok2.release()]);
  });

  test('the "Test Basic" tariff: a 10,000-token allowance on a key, enforced under concurrency', async () => {
    const basic = await createTariff(d.db, { name: "Test Basic", description: "Базовый тестовый тариф", markupPpm: 1_000_000n, tokenAllowance: 10_000 }, "admin:test");
    const acct = await makeAccount(d.db, "1000");
    // The key overrides its account's (default) tariff.
    const auth = authFor(acct, { keyLimits: { tariff_id: basic.id } });
    const billing = billingFor(d.db);
    const r = await settledAll(
      Array.from({ length: 40 }, () => billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: MINI, promptTokens: 100, requestedMaxTokens: 900 })),
    );
    assert.equal(r.ok.length, 10);
    for (const e of r.errors) assert.equal((e as AppError).extra.details?.limit_source, "key_total");
    await Promise.all(r.ok.map((x) => x.settle(usage(100, 400), served())));
    // 5,000 used → 5 more of 1,000 fit.
    const more = await settledAll(
      Array.from({ length: 20 }, () => billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: MINI, promptTokens: 100, requestedMaxTokens: 900 })),
    );
    assert.equal(more.ok.length, 5);
    await Promise.all(more.ok.map((x) => x.release()));
    // Without max_tokens the gateway offers what the allowance still covers.
    const rest = await billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: MINI, promptTokens: 100, requestedMaxTokens: null });
    assert.equal(rest.maxTokens, 4900);
    await rest.release();
    // Another key of the same account is not bound by it.
    const other = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: MINI, promptTokens: 100, requestedMaxTokens: 9000 });
    await other.release();
  });

  test("tariff quota defaults apply to the account; the account's own limits override them per field", async () => {
    const t = await createTariff(d.db, { name: "Daily 3 requests", markupPpm: 1_000_000n, limits: { daily_requests: 3 }, keyLimits: { daily_requests: 100 } }, "admin:test");
    const a1 = await makeAccount(d.db, "100", { tariffId: t.id });
    const billing = billingFor(d.db);
    const fire = (auth: ReturnType<typeof authFor>) =>
      settledAll(Array.from({ length: 10 }, () => billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: MINI, promptTokens: 1, requestedMaxTokens: 1 })));
    const r1 = await fire(authFor(a1, { tariffId: t.id }));
    assert.equal(r1.ok.length, 3);
    const a2 = await makeAccount(d.db, "100", { tariffId: t.id });
    const r2 = await fire(authFor(a2, { tariffId: t.id, accountLimits: { daily_requests: 5 } }));
    assert.equal(r2.ok.length, 5);
    await Promise.all([...r1.ok, ...r2.ok].map((x) => x.release()));
  });

  test("tariff rate limits reach the key verifier; assignment and deletion rules", async () => {
    const t = await createTariff(d.db, { name: "Limited", markupPpm: 1_000_000n, rateLimits: { rpm: 10, concurrency: 2 } }, "admin:test");
    const billing = billingFor(d.db);
    assert.deepEqual(await billing.tariffRateLimits(t.id), { rpm: 10, concurrency: 2 });
    assert.equal(await billing.tariffRateLimits(null), null);
    const acct = await makeAccount(d.db, "1");
    await assignTariff(d.db, acct, t.id, "admin:test");
    assert.equal((await account(d.db, acct)).tariffId, t.id);
    await assert.rejects(deleteTariff(d.db, t.id, "admin:test"), isCode("conflict"));
    await assignTariff(d.db, acct, null, "admin:test");
    await deleteTariff(d.db, t.id, "admin:test");
    await assert.rejects(assignTariff(d.db, acct, t.id, "admin:test"), isCode("not_found"));
    const def = (await d.db.select().from(tariffs).where(eq(tariffs.isDefault, true)))[0]!;
    await assert.rejects(deleteTariff(d.db, def.id, "admin:test"), isCode("conflict"));
    await assert.rejects(createTariff(d.db, { name: "Limited 2", markupPpm: 1n }, "x").then(() => createTariff(d.db, { name: "Limited 2", markupPpm: 1n }, "x")), isCode("conflict"));
    // Making another tariff the default moves the flag.
    const nd = await createTariff(d.db, { name: "New default", markupPpm: 1_300_000n, isDefault: true }, "admin:test");
    const defaults = await d.db.select().from(tariffs).where(eq(tariffs.isDefault, true));
    assert.deepEqual(defaults.map((x) => x.id), [nd.id]);
    await updateTariff(d.db, def.id, { isDefault: true }, "admin:test");
  });

  test("adjustments: credit, debit, idempotent replay, conflicts, and the ledger always sums to the balance", async () => {
    const acct = await makeAccount(d.db, "0");
    const a1 = await adjustBalance(d.db, { accountId: acct, amountMicros: 150_000_000n, reason: "gift", idempotencyKey: "k1", actor: "admin:test" });
    assert.equal(a1.applied, true);
    assert.equal(a1.balanceMicros, 150_000_000n);
    const replay = await adjustBalance(d.db, { accountId: acct, amountMicros: 150_000_000n, reason: "gift", idempotencyKey: "k1", actor: "admin:test" });
    assert.equal(replay.applied, false);
    assert.equal(replay.entryId, a1.entryId);
    assert.equal(replay.balanceMicros, 150_000_000n);
    await assert.rejects(adjustBalance(d.db, { accountId: acct, amountMicros: 1n, reason: "x", idempotencyKey: "k1", actor: "admin:test" }), isCode("conflict"));
    // A debit can't spend money held for requests in flight.
    const billing = billingFor(d.db);
    const hold = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: model("t/x", { input: "1000", output: "1000" }), promptTokens: 0, requestedMaxTokens: 500 });
    // hold = 500 × 1000 $/M × 100 × 1.5 = 75 RUB
    await assert.rejects(adjustBalance(d.db, { accountId: acct, amountMicros: -100_000_000n, reason: "x", actor: "admin:test" }), isCode("conflict"));
    const debit = await adjustBalance(d.db, { accountId: acct, amountMicros: -75_000_000n, reason: "fee", actor: "admin:test" });
    assert.equal(debit.balanceMicros, 75_000_000n);
    const forced = await adjustBalance(d.db, { accountId: acct, amountMicros: -80_000_000n, reason: "chargeback", allowNegative: true, actor: "admin:test" });
    assert.equal(forced.balanceMicros, -5_000_000n);
    await hold.release();
    await assert.rejects(adjustBalance(d.db, { accountId: "acct_nope", amountMicros: 1n, reason: "x", actor: "admin:test" }), isCode("not_found"));
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
    const rows = await d.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.accountId, acct), eq(ledgerEntries.kind, "adjustment")));
    assert.equal(rows.length, 3);
    const audits = await d.db.select().from(auditLog).where(and(eq(auditLog.targetId, acct), eq(auditLog.action, "account.adjust_balance")));
    assert.equal(audits.length, 3, "every applied adjustment is audited, replays are not");
  });
});
