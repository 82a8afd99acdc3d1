import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sql } from "drizzle-orm";
import { ensureBillingDefaults } from "../../src/billing/defaults.js";
import { releaseHold, reserveHold, reserveHolds, settleHold, settleHolds, type ReserveCall } from "../../src/billing/holds.js";
import { FN_RELEASE, FN_RESERVE, FN_RESERVE_BATCH, FN_SETTLE, FN_SETTLE_BATCH } from "../../src/billing/sql.js";
import { newRequestId } from "../../src/core/ids.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { account, drift, makeAccount } from "./helpers.js";

const FUNCTIONS = [FN_RESERVE, FN_RESERVE_BATCH, FN_SETTLE, FN_SETTLE_BATCH, FN_RELEASE];

async function installed(d: TestDatabase): Promise<string[]> {
  const r = (await d.db.execute(sql`select proname::text as name from pg_proc where proname like 'gw_billing_%' order by 1`)) as unknown as {
    rows: Array<{ name: string }>;
  };
  return r.rows.map((x) => x.name);
}

/** A hold of 100 (prompt) + max_tokens × 2 micros, no quota windows. */
function call(accountId: string, fixedMaxTokens: number): ReserveCall {
  return {
    requestId: newRequestId(),
    accountId,
    keyId: null,
    model: "t/m",
    promptTokens: 10,
    promptHoldMicros: 100n,
    outNum: 2n * 10n ** 18n,
    fixedMaxTokens,
    cap: 1000,
    min: 1,
    counters: [],
    ttlMs: 60_000,
    snapshot: "{}",
  };
}

// The hold/settle functions are a migration: a database that has only been migrated — no billing
// start-up (ensureBillingDefaults) — holds, settles and releases money.
describeEachDb("billing SQL functions come from the migrations", (_kind, create) => {
  let d: TestDatabase;
  before(async () => {
    d = await create();
  });
  after(async () => {
    await d?.drop();
  });

  test("a freshly migrated database has every function under its versioned name", async () => {
    assert.deepEqual(await installed(d), [...FUNCTIONS].sort());
  });

  test("reserve, settle and release work on a migrated database alone; the ledger matches the balance", async () => {
    const acct = await makeAccount(d.db, "0.01"); // 10 000 micros
    const one = call(acct, 100); // hold 100 + 200
    const held = await reserveHold(d.db, one);
    assert.deepEqual(held, { ok: true, maxTokens: 100, holdMicros: 300n, availableMicros: 9_700n });
    assert.equal((await account(d.db, acct)).reservedMicros, 300n);
    const settled = await settleHold(d.db, { requestId: one.requestId, priceMicros: 250n, upstreamCostMicros: 100n, totalTokens: 60, promptTokens: 10, completionTokens: 50, providerId: "mock" });
    assert.equal(settled.status, "ok");
    assert.equal(settled.chargedMicros, 250n);
    assert.equal(settled.balanceMicros, 9_750n);

    const two = call(acct, 10);
    assert.equal((await reserveHold(d.db, two)).ok, true);
    assert.equal(await releaseHold(d.db, two.requestId), "ok");

    const batch = [call(acct, 10), call(acct, 10)];
    const reserved = await reserveHolds(d.db, batch);
    assert.deepEqual([...reserved.values()].map((r) => r.ok), [true, true]);
    const paid = await settleHolds(
      d.db,
      batch.map((c) => ({ requestId: c.requestId, accountId: acct, priceMicros: 50n, upstreamCostMicros: 20n, totalTokens: 15, promptTokens: 10, completionTokens: 5, providerId: "mock" })),
    );
    assert.deepEqual([...paid.values()].map((s) => s.status), ["ok", "ok"]);
    const end = await account(d.db, acct);
    assert.equal(end.balanceMicros, 9_650n);
    assert.equal(end.reservedMicros, 0n);
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
  });

  test("billing start-up creates no function: one dropped stays dropped", async () => {
    await d.db.execute(sql.raw(`drop function ${FN_RELEASE}(text)`));
    await ensureBillingDefaults(d.db, { currency: "RUB", usdRateMicros: 100_000_000n, defaultMarkupPpm: 1_500_000n });
    assert.deepEqual(await installed(d), FUNCTIONS.filter((f) => f !== FN_RELEASE).sort());
  });
});
