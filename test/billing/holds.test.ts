import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq, sql } from "drizzle-orm";
import { settleHold } from "../../src/billing/holds.js";
import { ensureBillingDefaults } from "../../src/billing/defaults.js";
import { AppError } from "../../src/core/errors.js";
import { newRequestId } from "../../src/core/ids.js";
import { openDatabase } from "../../src/db/client.js";
import { holds, ledgerEntries, modelPrices, requestLogs, usageCounters } from "../../src/db/schema/index.js";
import { sweepHolds } from "../../src/jobs/sweep-holds.js";
import type { Reservation } from "../../src/contracts/request.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { account, authFor, billingFor, DB_PATH, drift, leaseEnv, makeAccount, model, served, settledAll, TestClock, usage } from "./helpers.js";

// The concurrency proofs run twice: holds in the database, and balance leases (BILLING_LEASE=on).
const LEASE_DIR = mkdtempSync(join(tmpdir(), "gw-lease-holds-"));
const MODES = [
  { tag: " [db]", env: DB_PATH },
  { tag: " [lease]", env: leaseEnv(LEASE_DIR) },
] as const;

// $2.5 / $10 per 1M at 100 RUB/USD × 1.5 = 375 / 1500 micros per token.
const GPT4O = model("t/gpt-4o", { input: "2.5", output: "10" });
const HOLD_100_1000 = 100n * 375n + 1000n * 1500n; // 1_537_500

function expectAppError(e: unknown, code: string, source?: string): AppError {
  assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
  assert.equal(e.code, code);
  if (source) assert.equal(e.extra.details?.limit_source, source);
  return e;
}

describeEachDb("billing holds", (kind, create) => {
  let d: TestDatabase;
  before(async () => {
    d = await create();
    await ensureBillingDefaults(d.db, { currency: "RUB", usdRateMicros: 100_000_000n, defaultMarkupPpm: 1_500_000n });
  });
  after(async () => {
    await d?.drop();
  });

  for (const mode of MODES) {
  test(`200 concurrent reserves on a balance that covers 10: exactly 10 holds, never overspent${mode.tag}`, async () => {
    const billing = billingFor(d.db, mode.env);
    const acct = await makeAccount(d.db, "15.375");
    const auth = authFor(acct);
    let minAvailable = 15_375_000n;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const a = await account(d.db, acct);
        if (a.balanceMicros - a.reservedMicros < minAvailable) minAvailable = a.balanceMicros - a.reservedMicros;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const r = await settledAll(
      Array.from({ length: 200 }, () =>
        billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 1000 }),
      ),
    );
    sampling = false;
    await sampler;
    assert.equal(r.ok.length, 10);
    assert.equal(r.errors.length, 190);
    for (const e of r.errors) assert.equal(expectAppError(e, "insufficient_quota", "balance").status, 402);
    const mid = await account(d.db, acct);
    assert.equal(mid.reservedMicros, 10n * HOLD_100_1000);
    assert.ok(mid.balanceMicros - mid.reservedMicros >= 0n);
    assert.ok(minAvailable >= 0n, `available went to ${minAvailable}`);
    // Settle all ten for less than the hold.
    const results = await Promise.all(r.ok.map((res) => res.settle(usage(100, 500), served())));
    for (const s of results) {
      assert.equal(s.priceMicros, 37_500n + 750_000n);
      assert.equal(s.costDisplay, "0.7875");
    }
    await billing.flush();
    const end = await account(d.db, acct);
    assert.equal(end.balanceMicros, 15_375_000n - 10n * 787_500n);
    assert.equal(end.reservedMicros, 0n);
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
    console.log(`# [${kind}${mode.tag}] A1 hold-then-settle: tried 200, admitted ${r.ok.length}, 402 ${r.errors.length}, overspend 0, drift 0`);
  });

  test(`200 concurrent full requests (reserve then settle at the max): at most 10 paid, balance ends at 0, ledger = balance${mode.tag}`, async () => {
    const billing = billingFor(d.db, mode.env);
    const acct = await makeAccount(d.db, "15.375");
    const auth = authFor(acct);
    const r = await settledAll(
      Array.from({ length: 200 }, async () => {
        const res = await billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 1000 });
        return res.settle(usage(100, 1000), served());
      }),
    );
    assert.equal(r.ok.length, 10);
    for (const e of r.errors) expectAppError(e, "insufficient_quota", "balance");
    await billing.flush();
    const end = await account(d.db, acct);
    assert.equal(end.balanceMicros, 0n);
    assert.equal(end.reservedMicros, 0n);
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
    const rows = await d.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.accountId, acct), eq(ledgerEntries.kind, "usage")));
    assert.equal(rows.length, 10);
    console.log(`# [${kind}${mode.tag}] A1 full flow: tried 200, succeeded ${r.ok.length}, overspend 0, drift 0`);
  });

  // PostgreSQL only (PGlite is one process's database); registered only there so nothing reports "skipped".
  if (kind === "postgres") test(`two processes (two pools, two billing instances) on one PostgreSQL can't overspend either${mode.tag}`, async () => {
    const other = await openDatabase({ dataDir: "unused", databaseUrl: d.url!, poolSize: 20 });
    try {
      const b1 = billingFor(d.db, mode.env);
      const b2 = billingFor(other.db, mode.env);
      const acct = await makeAccount(d.db, "15.375");
      const auth = authFor(acct);
      const r = await settledAll(
        Array.from({ length: 200 }, async (_, i) => {
          const res = await (i % 2 ? b1 : b2).reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 1000 });
          return res.settle(usage(100, 1000), served());
        }),
      );
      assert.equal(r.ok.length, 10);
      await Promise.all([b1.flush(), b2.flush()]);
      const end = await account(d.db, acct);
      assert.equal(end.balanceMicros, 0n);
      assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
      console.log(`# [${kind}${mode.tag}] A1 two processes: tried 200, succeeded ${r.ok.length}, overspend 0, drift 0`);
    } finally {
      await other.close();
    }
  });
  }

  test("a key's daily token limit holds under concurrency and resets the next day", async () => {
    const clock = new TestClock();
    const billing = billingFor(d.db, DB_PATH, clock);
    const acct = await makeAccount(d.db, "1000");
    const auth = authFor(acct, { keyLimits: { daily_tokens: 5000 } });
    const fire = (n: number) =>
      settledAll(
        Array.from({ length: n }, () =>
          billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 400 }),
        ),
      );
    const first = await fire(100);
    assert.equal(first.ok.length, 10); // 10 × (100 + 400) = 5000
    for (const e of first.errors) {
      const err = expectAppError(e, "quota_exceeded", "key_daily");
      assert.equal(err.status, 403);
      assert.equal(err.extra.details?.limit_type, "tokens");
    }
    await Promise.all(first.ok.map((res) => res.settle(usage(100, 150), served())));
    const ctr = (await d.db.select().from(usageCounters).where(eq(usageCounters.id, `k:${auth.keyId}|d:2026-11-22`)))[0]!;
    assert.equal(ctr.usedTokens, 2500);
    assert.equal(ctr.heldTokens, 0);
    const second = await fire(50);
    assert.equal(second.ok.length, 5); // 2500 left
    await Promise.all(second.ok.map((res) => res.release()));
    clock.t += 24 * 3600_000;
    const nextDay = await fire(20);
    assert.equal(nextDay.ok.length, 10);
    await Promise.all(nextDay.ok.map((res) => res.release()));
    console.log(`# [${kind}] A2 key daily tokens: tried 170, admitted ${first.ok.length}+${second.ok.length}+${nextDay.ok.length}, used 2500 of 5000 on day 1`);
  });

  test("an account's monthly money limit and a daily request limit hold under concurrency", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "1000");
    // 5 holds of 1.5375 fit in 7.6875.
    const auth = authFor(acct, { accountLimits: { monthly_money: "7.6875" } });
    const r = await settledAll(
      Array.from({ length: 50 }, () =>
        billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 1000 }),
      ),
    );
    assert.equal(r.ok.length, 5);
    for (const e of r.errors) assert.equal(expectAppError(e, "quota_exceeded", "account_monthly").extra.details?.limit_type, "money");
    await Promise.all(r.ok.map((res) => res.settle(usage(100, 1000), served())));
    const used = (await d.db.select().from(usageCounters).where(eq(usageCounters.id, `a:${acct}|m:2026-11`)))[0]!;
    assert.equal(used.usedMicros, 5n * HOLD_100_1000);
    assert.ok(used.usedMicros <= 7_687_500n);

    const auth2 = authFor(acct, { keyLimits: { daily_requests: 3 } });
    const r2 = await settledAll(
      Array.from({ length: 20 }, () =>
        billing.reserve({ requestId: newRequestId(), auth: auth2, endpoint: "chat.completions", model: model("t/cheap", { input: "0.1", output: "0.1" }), promptTokens: 10, requestedMaxTokens: 10 }),
      ),
    );
    assert.equal(r2.ok.length, 3);
    for (const e of r2.errors) assert.equal(expectAppError(e, "quota_exceeded", "key_daily").extra.details?.limit_type, "requests");
    // A released request gives its slot back.
    await r2.ok[0]!.release();
    const again = await billing.reserve({ requestId: newRequestId(), auth: auth2, endpoint: "chat.completions", model: model("t/cheap", { input: "0.1", output: "0.1" }), promptTokens: 10, requestedMaxTokens: 10 });
    await again.release();
    await Promise.all(r2.ok.slice(1).map((x) => x.release()));
  });

  test("a settlement delivered twice bills once", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "10");
    const requestId = newRequestId();
    const res = await billing.reserve({ requestId, auth: authFor(acct), endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 1000 });
    const a = await res.settle(usage(100, 200), served());
    const b = await res.settle(usage(100, 200), served());
    assert.deepEqual(a, b);
    // Redelivery straight to the database (another process, a retry after a lost reply).
    const again = await settleHold(d.db, { requestId, priceMicros: 999_999n, upstreamCostMicros: 1n, totalTokens: 1, promptTokens: 1, completionTokens: 0, providerId: "mock" });
    assert.equal(again.status, "duplicate");
    assert.equal(again.chargedMicros, a.priceMicros);
    const rows = await d.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, requestId)));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.amountMicros, -(37_500n + 300_000n));
    const end = await account(d.db, acct);
    assert.equal(end.balanceMicros, 10_000_000n - 337_500n);
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
  });

  test("without max_tokens the hold covers the model's max output (or what the balance covers, then the cap goes upstream for a non-stream answer)", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const small = await makeAccount(d.db, "1");
    const r1 = await billing.reserve({ requestId: newRequestId(), auth: authFor(small), endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: null });
    // (1_000_000 - 37_500) / 1500 = 641.67
    assert.equal(r1.maxTokens, 641);
    assert.equal(r1.headers["x-gateway-max-tokens"], "641");
    assert.equal((await account(d.db, small)).reservedMicros, 37_500n + 641n * 1500n);
    // Nothing left for a second one.
    await assert.rejects(
      billing.reserve({ requestId: newRequestId(), auth: authFor(small), endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: null }),
      (e) => !!expectAppError(e, "insufficient_quota", "balance"),
    );
    await r1.release();

    const rich = await makeAccount(d.db, "1000");
    const capped = model("t/capped", { input: "2.5", output: "10" }, { maxOutput: 4096 });
    const before = (await account(d.db, rich)).reservedMicros;
    const r2 = await billing.reserve({ requestId: newRequestId(), auth: authFor(rich), endpoint: "chat.completions", model: capped, promptTokens: 10, requestedMaxTokens: null });
    assert.equal(r2.maxTokens, null, "the balance covers the model's whole max output: no cap the client did not ask for");
    assert.equal(r2.outputTokens, 4096);
    assert.equal((await account(d.db, rich)).reservedMicros - before, 10n * 375n + 4096n * 1500n);
    // A stream on a short balance: the hold is what the balance covers, no cap written (the gateway cuts the stream).
    const s1 = await billing.reserve({ requestId: newRequestId(), auth: authFor(small), endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: null, stream: true });
    assert.deepEqual([s1.maxTokens, s1.outputTokens], [null, 641]);
    await s1.release();
    const r3 = await billing.reserve({ requestId: newRequestId(), auth: authFor(rich), endpoint: "chat.completions", model: capped, promptTokens: 10, requestedMaxTokens: 100_000 });
    assert.equal(r3.maxTokens, 4096, "a client max_tokens above the model's max output is lowered");
    const r4 = await billing.reserve({ requestId: newRequestId(), auth: authFor(rich), endpoint: "chat.completions", model: capped, promptTokens: 10, requestedMaxTokens: 50 });
    assert.equal(r4.maxTokens, null, "an affordable client max_tokens is left alone");
    assert.deepEqual(r4.headers, {});
    // An explicit max_tokens the balance can't cover is refused with the affordable figure.
    await assert.rejects(
      billing.reserve({ requestId: newRequestId(), auth: authFor(small), endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 1000 }),
      (e) => /lower max_tokens to 641/.test((e as Error).message),
    );
    await Promise.all([r2, r3, r4].map((r) => r.release()));
    assert.equal((await account(d.db, rich)).reservedMicros, 0n);
  });

  test("usage beyond the hold (upstream ignored max_tokens, or lied) is charged no more than the hold", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "2");
    const res = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 100 });
    const quote = res.quote(usage(100, 5000), served());
    assert.equal(quote.priceMicros, 37_500n + 5000n * 1500n);
    assert.equal(res.holdMicros, 37_500n + 100n * 1500n);
    const s = await res.settle(usage(100, 5000), served());
    assert.equal(s.priceMicros, res.holdMicros, "the charge stops at the hold, not at the balance");
    const a = await account(d.db, acct);
    assert.equal(a.balanceMicros, 2_000_000n - res.holdMicros);
    assert.equal(a.reservedMicros, 0n);
    const h = (await d.db.select().from(holds).where(eq(holds.accountId, acct)))[0]!;
    assert.equal(h.chargedMicros, res.holdMicros);
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
  });

  test("settlement uses the prices frozen at admission, not a price changed mid-request", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "100");
    const m = model("t/repriced", { input: "1", output: "1" });
    const res = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: m, promptTokens: 1000, requestedMaxTokens: 1000 });
    await d.db.insert(modelPrices).values({ modelId: "t/repriced", providerId: "*", inputMicrosPerM: 50_000_000n, outputMicrosPerM: 50_000_000n, source: "admin" });
    billing.config.invalidate();
    const s = await res.settle(usage(1000, 1000), served());
    // 2000 tokens × $1/M × 100 × 1.5 = 0.3 RUB
    assert.equal(s.priceMicros, 300_000n);
    // The next request sees the book price ($50/M overrides the config's $1/M).
    const next = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: m, promptTokens: 1000, requestedMaxTokens: 1000 });
    const s2 = await next.settle(usage(1000, 1000), served());
    assert.equal(s2.priceMicros, 15_000_000n);
  });

  test("a model with no price is refused, or held at BILLING_UNPRICED_HOLD and charged from the upstream's reported cost", async () => {
    const acct = await makeAccount(d.db, "10");
    const unpriced = model("t/unpriced", null);
    await assert.rejects(
      billingFor(d.db, { ...DB_PATH, BILLING_UNPRICED_HOLD: "" }).reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: unpriced, promptTokens: 10, requestedMaxTokens: 10 }),
      (e) => expectAppError(e, "model_not_priced").status === 403,
    );
    const billing = billingFor(d.db, { ...DB_PATH, BILLING_UNPRICED_HOLD: "0.5" });
    const r1 = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: unpriced, promptTokens: 10, requestedMaxTokens: 10 });
    assert.equal((await account(d.db, acct)).reservedMicros, 500_000n);
    // $0.001 reported → 0.1 RUB cost, × 1.5 = 0.15 RUB price
    const s1 = await r1.settle(usage(10, 10, { upstreamCostUsd: 0.001 }), served());
    assert.equal(s1.upstreamCostMicros, 100_000n);
    assert.equal(s1.priceMicros, 150_000n);
    const r2 = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: unpriced, promptTokens: 10, requestedMaxTokens: 10 });
    const s2 = await r2.settle(usage(10, 10), served());
    assert.equal(s2.priceMicros, 500_000n, "no price and no reported cost: the fixed hold is the price");
    // Nothing to cap for an unpriced model without token quotas: the client's request goes upstream unchanged.
    const r3 = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: unpriced, promptTokens: 10, requestedMaxTokens: null });
    assert.equal(r3.maxTokens, null);
    await r3.release();
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
  });

  test("the sweeper settles crashed holds from the request log, releases the rest, and is idempotent", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "100");
    const auth = authFor(acct);
    const ids = [newRequestId(), newRequestId(), newRequestId()];
    for (const id of ids) {
      await billing.reserve({ requestId: id, auth, endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 1000 });
    }
    // The process "crashed": no settle. The log recorded usage for the first request only.
    await d.db.insert(requestLogs).values([
      { id: ids[0]!, accountId: acct, apiKeyId: auth.keyId, endpoint: "chat.completions", requestedModel: "t/gpt-4o", providerId: "mock", status: "completed", promptTokens: 100, completionTokens: 200, totalTokens: 300 },
      { id: ids[1]!, accountId: acct, apiKeyId: auth.keyId, endpoint: "chat.completions", requestedModel: "t/gpt-4o", status: "pending" },
    ]);
    assert.equal((await account(d.db, acct)).reservedMicros, 3n * HOLD_100_1000);
    const notYet = await sweepHolds(d.db);
    assert.deepEqual([notYet.settled, notYet.released], [0, 0], "holds younger than their TTL are left alone");
    const later = new Date(Date.now() + 24 * 3600_000);
    const r = await sweepHolds(d.db, { now: later });
    assert.equal(r.settled, 1);
    assert.equal(r.released, 2);
    assert.equal(r.chargedMicros, 37_500n + 300_000n);
    const log = (await d.db.select().from(requestLogs).where(eq(requestLogs.id, ids[0]!)))[0]!;
    assert.equal(log.priceMicros, 337_500n);
    assert.equal(log.profitMicros, 337_500n - log.upstreamCostMicros!);
    const again = await sweepHolds(d.db, { now: later });
    assert.deepEqual([again.settled, again.released, again.failed], [0, 0, 0]);
    const a = await account(d.db, acct);
    assert.equal(a.reservedMicros, 0n);
    assert.equal(a.balanceMicros, 100_000_000n - 337_500n);
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
    const open = await d.db.select({ n: sql<number>`count(*)::int` }).from(holds).where(and(eq(holds.accountId, acct), eq(holds.status, "open")));
    assert.equal(open[0]!.n, 0);
  });

  test("a negative balance refuses even a free model; a blocked account is refused", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "0");
    const { postLedgerEntry } = await import("../../src/billing/ledger.js");
    await d.db.transaction((tx) => postLedgerEntry(tx, { accountId: acct, kind: "adjustment", amountMicros: -1n, ref: `neg-${acct}` }, { allowNegative: true }));
    await assert.rejects(
      billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: model("t/free", { input: "0", output: "0" }), promptTokens: 10, requestedMaxTokens: 10 }),
      (e) => !!expectAppError(e, "insufficient_quota", "balance"),
    );
    const blocked = await makeAccount(d.db, "10");
    await d.db.execute(sql`update accounts set status = 'blocked' where id = ${blocked}`);
    await assert.rejects(
      billing.reserve({ requestId: newRequestId(), auth: authFor(blocked), endpoint: "chat.completions", model: GPT4O, promptTokens: 10, requestedMaxTokens: 10 }),
      (e) => !!expectAppError(e, "account_blocked"),
    );
  });

  for (const mode of MODES) test(`flush()/close() drain queued settlements${mode.tag}`, async () => {
    const billing = billingFor(d.db, mode.env);
    const acct = await makeAccount(d.db, "100");
    const rs: Reservation[] = [];
    for (let i = 0; i < 20; i++) {
      rs.push(await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: GPT4O, promptTokens: 100, requestedMaxTokens: 100 }));
    }
    const pending = rs.map((r) => r.settle(usage(100, 100), served()));
    await billing.close();
    await Promise.all(pending);
    const a = await account(d.db, acct);
    assert.equal(a.reservedMicros, 0n);
    assert.equal(a.balanceMicros, 100_000_000n - 20n * (37_500n + 150_000n));
    await assert.rejects(
      billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: GPT4O, promptTokens: 1, requestedMaxTokens: 1 }),
      (e) => !!expectAppError(e, "service_unavailable"),
    );
  });
});
