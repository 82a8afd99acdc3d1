import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sql } from "drizzle-orm";
import { runRetention } from "../../src/jobs/retention.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";

type Row = Record<string, unknown>;
const rowsOf = (r: unknown): Row[] => (Array.isArray(r) ? r : ((r as { rows?: Row[] }).rows ?? [])) as Row[];
const one = async (d: TestDatabase, q: ReturnType<typeof sql>) => rowsOf(await d.db.execute(q))[0]!;

const NOW = new Date("2026-11-30T12:00:00Z");
const ROWS = 60_000;

describeEachDb("retention", (kind, createDb) => {
  let d: TestDatabase;
  before(async () => {
    d = await createDb();
    // 60k request-log rows over 60 days for 50 accounts; holds of every status over the same days.
    await d.db.execute(sql`insert into request_logs (id, account_id, api_key_id, endpoint, requested_model, served_model, status, prompt_tokens, completion_tokens, total_tokens, price_micros, upstream_cost_micros, profit_micros, created_at)
      select 'req_' || g, 'acct_' || (g % 50), 'key_' || (g % 50), 'chat.completions', 'm', 'm/' || (g % 3), case when g % 10 = 0 then 'failed' else 'completed' end,
             10, 20, 30, 300, 200, 100, ${NOW.toISOString()}::timestamptz - (g % 60) * interval '1 day' - (g % 1000) * interval '1 second'
      from generate_series(1, ${ROWS}) g`);
    await d.db.execute(sql`insert into holds (request_id, account_id, model, status, amount_micros, snapshot, created_at, expires_at, settled_at)
      select 'h_' || g, 'acct_1', 'm', (array['open','settled','released'])[1 + g % 3], 10, '{}'::jsonb,
             ${NOW.toISOString()}::timestamptz - (g % 20) * interval '1 day', ${NOW.toISOString()}::timestamptz + interval '1 hour',
             case when g % 3 = 0 then null else ${NOW.toISOString()}::timestamptz - (g % 20) * interval '1 day' end
      from generate_series(1, 3000) g`);
    await d.db.execute(sql`analyze`);
  });
  after(() => d.drop());

  test("old request-log rows leave in batches with their daily totals kept exactly; settled holds pruned, open ones kept", async () => {
    const old = await one(d, sql`select count(*)::int as n, sum(total_tokens)::text as t, sum(price_micros)::text as p, count(*) filter (where status = 'failed')::int as f
      from request_logs where created_at < ${new Date(NOW.getTime() - 30 * 86_400_000).toISOString()}::timestamptz`);
    const openBefore = await one(d, sql`select count(*)::int as n from holds where status = 'open'`);
    const r = await runRetention(d.db, { requestLogDays: 30, holdDays: 7, timeZone: "Europe/Moscow", vacuum: kind === "pglite" }, NOW);
    assert.equal(r.foldedLogs, old.n);
    assert.ok(r.foldedLogs > 5000, "more than one batch");
    const left = await one(d, sql`select count(*)::int as n, min(created_at) as m from request_logs`);
    assert.equal(left.n, ROWS - Number(old.n));
    const daily = await one(d, sql`select sum(requests)::int as n, sum(total_tokens)::text as t, sum(price_micros)::text as p, sum(failed)::int as f, count(distinct day)::int as days from request_log_daily`);
    assert.equal(daily.n, old.n, "every deleted row counted once");
    assert.equal(daily.t, old.t);
    assert.equal(daily.p, old.p);
    assert.equal(daily.f, old.f);
    assert.ok(Number(daily.days) >= 29, "one row per day, account, key and model");
    const holds = await one(d, sql`select count(*) filter (where status = 'open')::int as open, count(*) filter (where status <> 'open' and settled_at < ${new Date(NOW.getTime() - 7 * 86_400_000).toISOString()}::timestamptz)::int as stale from holds`);
    assert.equal(holds.open, openBefore.n, "open holds belong to the sweeper");
    assert.equal(holds.stale, 0);
    assert.ok(r.deletedHolds > 0);
    assert.equal(r.vacuumed, kind === "pglite");
    const again = await runRetention(d.db, { requestLogDays: 30, holdDays: 7, timeZone: "Europe/Moscow", vacuum: false }, NOW);
    assert.deepEqual(again, { foldedLogs: 0, deletedHolds: 0, vacuumed: false }, "a second run changes nothing");
  });

  test("after retention the hot statements still use their indexes (EXPLAIN)", async () => {
    await d.db.execute(sql`analyze`);
    const plan = async (q: ReturnType<typeof sql>) => rowsOf(await d.db.execute(sql`explain ${q}`)).map((x) => String(Object.values(x)[0])).join("\n");
    const usage = await plan(sql`select count(*), sum(price_micros) from request_logs where account_id = 'acct_7' and created_at >= ${NOW.toISOString()}::timestamptz - interval '1 day'`);
    assert.match(usage, /request_logs_account_created_idx/, usage);
    const recent = await plan(sql`select * from request_logs where api_key_id = 'key_7' order by created_at desc limit 20`);
    assert.match(recent, /request_logs_key_created_idx/, recent);
    const sweep = await plan(sql`select request_id from holds where status = 'open' and expires_at < ${NOW.toISOString()}::timestamptz limit 100`);
    assert.match(sweep, /holds_open_expires_idx/, sweep);
    const byId = await plan(sql`select * from request_logs where id = 'req_12345'`);
    assert.match(byId, /request_logs_pkey/, byId);
    const fold = await plan(sql`select id from request_logs where created_at < ${NOW.toISOString()}::timestamptz - interval '30 days' limit 5000`);
    assert.ok(!/Sort/.test(fold), fold);
  });
});
