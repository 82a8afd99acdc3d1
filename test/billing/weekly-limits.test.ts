import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { ensureBillingDefaults } from "../../src/billing/defaults.js";
import { counterSpecs, isoWeek, mergeLimits, PeriodClock } from "../../src/billing/quotas.js";
import { AppError } from "../../src/core/errors.js";
import { newRequestId } from "../../src/core/ids.js";
import { usageCounters } from "../../src/db/schema/index.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { authFor, billingFor, makeAccount, model, served, TestClock, usage } from "./helpers.js";

const M = model("t/weekly", { input: "2.5", output: "10" });

test("ISO weeks: Monday starts a week, the Thursday decides its year, the billing time zone decides the day", () => {
  assert.equal(isoWeek("2026-01-01"), "2026-W01"); // a Thursday
  assert.equal(isoWeek("2025-12-29"), "2026-W01"); // Monday of that week belongs to 2026
  assert.equal(isoWeek("2027-01-03"), "2026-W53"); // 2026 has 53 weeks
  assert.equal(isoWeek("2026-11-22"), "2026-W47"); // a Sunday
  assert.equal(isoWeek("2026-11-23"), "2026-W48"); // the next Monday
  // Sunday 22:30 UTC is already Monday in Moscow (UTC+3): a new week there, the old one in UTC.
  const t = Date.UTC(2026, 10, 22, 22, 30);
  assert.equal(new PeriodClock("UTC").keys(t).week, "2026-W47");
  assert.equal(new PeriodClock("Europe/Moscow").keys(t).week, "2026-W48");
  const l = mergeLimits({ weekly_tokens: 10, weekly_money: "2.5", weekly_requests: 3 });
  assert.deepEqual(l.weekly, { tokens: 10n, micros: 2_500_000n, requests: 3n });
  const specs = counterSpecs("key_1", l, "acct_1", mergeLimits({}), new PeriodClock("UTC").keys(t));
  assert.deepEqual(specs.map((s) => [s.id, s.source]), [["k:key_1|w:2026-W47", "key_weekly"]]);
});

describeEachDb("weekly limits", (_kind, create) => {
  let d: TestDatabase;
  before(async () => {
    d = await create();
    await ensureBillingDefaults(d.db, { currency: "RUB", usdRateMicros: 100_000_000n, defaultMarkupPpm: 1_500_000n });
  });
  after(() => d.drop());

  test("a key's weekly token limit spans days, refuses as key_weekly, and opens again on Monday", async () => {
    const clock = new TestClock(Date.UTC(2026, 10, 18, 12)); // Wednesday of 2026-W47
    const billing = billingFor(d.db, {}, clock);
    const acct = await makeAccount(d.db, "1000");
    const auth = authFor(acct, { keyLimits: { weekly_tokens: 1000, daily_tokens: 600 } });
    const ask = () => billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: M, promptTokens: 100, requestedMaxTokens: 400 });
    const first = await ask();
    await first.settle(usage(100, 400), served());
    clock.t += 24 * 3600_000; // Thursday: the daily window is new, the weekly one is not
    const second = await ask();
    await second.settle(usage(100, 400), served());
    clock.t += 24 * 3600_000; // Friday: 1000 of 1000 used this week
    await assert.rejects(ask(), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, "quota_exceeded");
      assert.equal(e.status, 403);
      assert.equal(e.extra.details?.limit_source, "key_weekly");
      assert.equal(e.extra.details?.limit_type, "tokens");
      return true;
    });
    const [ctr] = await d.db.select().from(usageCounters).where(eq(usageCounters.id, `k:${auth.keyId}|w:2026-W47`));
    assert.equal(ctr!.usedTokens, 1000);
    clock.t = Date.UTC(2026, 10, 23, 0, 0, 1); // Monday 00:00:01 UTC: 2026-W48
    const monday = await ask();
    await monday.release();
  });

  test("an account's weekly money limit counts what every key spends", async () => {
    const clock = new TestClock(Date.UTC(2026, 10, 16, 9)); // Monday
    const billing = billingFor(d.db, {}, clock);
    // 100 prompt + 400 output at 375/1500 micros per token = 637_500 micros a request.
    const acct = await makeAccount(d.db, "1000", { limits: { weekly_money: "1.30" } });
    const a = authFor(acct, { accountLimits: { weekly_money: "1.30" } });
    const b = authFor(acct, { accountLimits: { weekly_money: "1.30" } });
    const r1 = await billing.reserve({ requestId: newRequestId(), auth: a, endpoint: "chat.completions", model: M, promptTokens: 100, requestedMaxTokens: 400 });
    await r1.settle(usage(100, 400), served());
    const r2 = await billing.reserve({ requestId: newRequestId(), auth: b, endpoint: "chat.completions", model: M, promptTokens: 100, requestedMaxTokens: 400 });
    await r2.settle(usage(100, 400), served());
    await assert.rejects(
      billing.reserve({ requestId: newRequestId(), auth: a, endpoint: "chat.completions", model: M, promptTokens: 100, requestedMaxTokens: 400 }),
      (e: unknown) => e instanceof AppError && e.extra.details?.limit_source === "account_weekly" && e.extra.details?.limit_type === "money",
    );
  });
});
