import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sql } from "drizzle-orm";
import { platformByModel, platformDaily, platformSummary, usageByModel, usageDaily, usageSummary } from "../../src/billing/reports.js";
import { runRetention } from "../../src/jobs/retention.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";

const NOW = new Date("2026-11-30T12:00:00Z"); // a Monday
const TZ = "Europe/Moscow";
// Month-start in Moscow, far enough back to cover every row.
const PERIOD = { from: new Date("2026-08-31T21:00:00Z"), to: new Date("2026-12-01T00:00:00Z") };

// Reports read the request log and the daily totals retention folded old rows into, so every
// usage and statistics figure is the same before and after a retention run.
describeEachDb("reports after retention", (_kind, createDb) => {
  let d: TestDatabase;
  before(async () => {
    d = await createDb();
    // 3000 rows over 60 days for 5 accounts (two keys each, some without a key), three models,
    // every tenth failed without a price, spread over the hours of each day.
    await d.db.execute(sql`insert into request_logs (id, account_id, api_key_id, endpoint, requested_model, served_model, status, prompt_tokens, completion_tokens, total_tokens, price_micros, upstream_cost_micros, profit_micros, created_at)
      select 'req_' || g, 'acct_' || (g % 5), case when g % 7 = 0 then null else 'key_' || (g % 10) end, 'chat.completions', 'm/' || (g % 3), 'm/' || (g % 3),
             case when g % 10 = 0 then 'failed' else 'completed' end,
             g % 50, g % 70, case when g % 4 = 0 then null else g % 50 + g % 70 end,
             case when g % 10 = 0 then null else 1000 + g end, case when g % 10 = 0 then null else 600 + g end, case when g % 10 = 0 then null else 400 end,
             ${NOW.toISOString()}::timestamptz - (g % 60) * interval '1 day' - ((g * 7919) % 86400) * interval '1 second'
      from generate_series(1, 3000) g`);
  });
  after(() => d.drop());

  const snapshot = async () => {
    const now = NOW;
    return {
      account: await usageSummary(d.db, { accountId: "acct_1" }, now, TZ),
      key: await usageSummary(d.db, { accountId: "acct_1", keyId: "key_1" }, now, TZ),
      daily: await usageDaily(d.db, { accountId: "acct_2" }, now, TZ, 90),
      byModel: await usageByModel(d.db, { accountId: "acct_3" }, now, TZ, 90),
      byModelMonth: await usageByModel(d.db, { accountId: "acct_3" }, now, TZ, 30),
      platform: await platformSummary(d.db, PERIOD, TZ),
      platformAccount: await platformSummary(d.db, PERIOD, TZ, "acct_4"),
      platformDaily: await platformDaily(d.db, PERIOD, TZ),
      platformByModel: await platformByModel(d.db, PERIOD, TZ),
    };
  };

  test("usage summary (day, week, month, all), per day, per model and platform stats: equal before and after retention", async () => {
    const beforeRun = await snapshot();
    assert.equal(beforeRun.platform.requests, 3000);
    assert.ok(beforeRun.account.month.requests > 0 && beforeRun.account.month.requests < beforeRun.account.total.requests);
    // Five days kept: the cut falls in the middle of 25 November, so that day is split between
    // the log and the daily totals; the month window covers folded days.
    const r = await runRetention(d.db, { requestLogDays: 5, holdDays: 0, timeZone: TZ, vacuum: false }, NOW);
    assert.ok(r.foldedLogs > 2000, `folded ${r.foldedLogs}`);
    const split = rowsOf(await d.db.execute(sql`select
        (select count(*)::int from request_logs where to_char(created_at at time zone ${TZ}, 'YYYY-MM-DD') = '2026-11-25') as logs,
        (select count(*)::int from request_log_daily where day = '2026-11-25') as daily`))[0]!;
    assert.ok(Number(split.logs) > 0 && Number(split.daily) > 0, "the cut day is in both tables");
    const afterRun = await snapshot();
    assert.deepEqual(afterRun, beforeRun);
  });
});

function rowsOf(r: unknown): Array<Record<string, unknown>> {
  return (Array.isArray(r) ? r : ((r as { rows?: unknown[] }).rows ?? [])) as Array<Record<string, unknown>>;
}
