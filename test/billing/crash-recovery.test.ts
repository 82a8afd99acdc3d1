import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { and, eq, sql } from "drizzle-orm";
import { ensureBillingDefaults } from "../../src/billing/defaults.js";
import { holdTtlMs } from "../../src/billing/hold-ttl.js";
import { StreamProgress } from "../../src/billing/stream-progress.js";
import { createLogger } from "../../src/core/logger.js";
import { newRequestId } from "../../src/core/ids.js";
import { holds, requestLogs } from "../../src/db/schema/index.js";
import { sweepHolds } from "../../src/jobs/sweep-holds.js";
import { RequestLogJournal, reviveLogRow } from "../../src/logs/request-log-journal.js";
import { RequestLogWriter } from "../../src/logs/request-log-writer.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { account, authFor, billingFor, DB_PATH, drift, makeAccount, model, served, usage } from "./helpers.js";

// $2.5 / $10 per 1M at 100 RUB/USD × 1.5 = 375 / 1500 micros per token.
const GPT4O = model("t/gpt-4o", { input: "2.5", output: "10" });
const silent = createLogger({ level: "silent" });
const FAR = () => new Date(Date.now() + 7 * 24 * 3600_000);

test("hold TTL: the longest planned route × attempts + backoff, bounded by the deadline, never below the floor", () => {
  const base = { maxAttempts: 3, maxDelayMs: 2000, deadlineMs: 30_000, floorMs: 900_000, marginMs: 60_000 };
  // A provider allowed 30 min per attempt outlives the 15 min default: the hold must cover it.
  assert.equal(holdTtlMs({ ...base, attemptTotalsMs: [1_800_000] }), 30_000 + 1_800_000 + 60_000);
  // Without the deadline bound: three attempts of the longest route (fewer routes than attempts) + two backoffs.
  assert.equal(holdTtlMs({ ...base, deadlineMs: 10 ** 9, attemptTotalsMs: [1_800_000, 5_000] }), 3 * 1_800_000 + 2 * 2000 + 60_000);
  // Enough routes: the three longest count once each.
  assert.equal(holdTtlMs({ ...base, deadlineMs: 10 ** 9, attemptTotalsMs: [600_000, 1_000_000, 700_000, 800_000] }), 2_500_000 + 4000 + 60_000);
  // Short timeouts: the configured TTL still applies.
  assert.equal(holdTtlMs({ ...base, attemptTotalsMs: [10_000] }), 900_000);
  assert.equal(holdTtlMs({ ...base, attemptTotalsMs: [] }), 900_000);
});

describeEachDb("crash recovery", (_kind, create) => {
  let d: TestDatabase;
  before(async () => {
    d = await create();
    await ensureBillingDefaults(d.db, { currency: "RUB", usdRateMicros: 100_000_000n, defaultMarkupPpm: 1_500_000n });
  });
  after(async () => {
    await d?.drop();
  });

  const holdRow = async (id: string) => (await d.db.select().from(holds).where(eq(holds.requestId, id)))[0]!;
  const logRow = async (id: string) => (await d.db.select().from(requestLogs).where(eq(requestLogs.id, id)))[0];

  test("a stream that crashed mid-way is billed its recorded progress (≥ delivered, ≤ delivered + ahead) and its pending log row is closed", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "100");
    const auth = authFor(acct);
    const progress = new StreamProgress({ db: d.db, aheadTokens: 16, heartbeatMs: 60_000 });
    const writer = new RequestLogWriter({ db: d.db, logger: silent, flushIntervalMs: 60_000 });
    const ids = [newRequestId(), newRequestId(), newRequestId()];
    const delivered = [150, 7, 0];
    for (const [i, id] of ids.entries()) {
      await billing.reserve({ requestId: id, auth, endpoint: "chat.completions", model: GPT4O, promptTokens: 400, requestedMaxTokens: 1000 });
      writer.begin({ id, accountId: acct, apiKeyId: auth.keyId, endpoint: "chat.completions", requestedModel: "t/gpt-4o", stream: true, status: "pending" });
      if (i < 2) {
        await progress.start(id, { promptTokens: 100, maxTokens: 1000 });
        // The relay reports before each chunk goes out; a returned promise is awaited first.
        for (let n = 1; n <= delivered[i]!; n++) await progress.report(id, n);
      }
    }
    await writer.flush();
    assert.ok(progress.stats.writes < 20, `progress is batched ahead of delivery (${progress.stats.writes} writes for 157 tokens)`);
    // kill -9: nothing settles, nothing ends.
    const h0 = await holdRow(ids[0]!);
    assert.ok(h0.progressCompletionTokens! >= 150 && h0.progressCompletionTokens! <= 150 + 16, `recorded bound ${h0.progressCompletionTokens}`);
    assert.equal(h0.progressPromptTokens, 100);

    const r = await sweepHolds(d.db, { now: FAR(), pendingGraceMs: 0 });
    assert.equal(r.settled, 2);
    assert.equal(r.fromProgress, 2);
    assert.equal(r.released, 1);
    for (const [i, id] of ids.entries()) {
      const h = await holdRow(id);
      const log = (await logRow(id))!;
      assert.equal(log.status, "interrupted", "no pending row is left");
      assert.equal(log.errorCode, "gateway_interrupted");
      if (i < 2) {
        assert.equal(h.status, "settled");
        assert.ok(h.completionTokens! >= delivered[i]!, `billed ${h.completionTokens} ≥ delivered ${delivered[i]}`);
        assert.ok(h.completionTokens! <= delivered[i]! + 16);
        assert.equal(h.promptTokens, 100);
        // Priced from the hold's snapshot: 375 per prompt token, 1500 per completion token.
        assert.equal(h.chargedMicros, 100n * 375n + BigInt(h.completionTokens!) * 1500n);
        assert.equal(log.priceMicros, h.chargedMicros);
        assert.equal(log.completionTokens, h.completionTokens);
      } else {
        assert.equal(h.status, "released", "a stream that sent nothing costs nothing");
        assert.equal(log.priceMicros, 0n);
      }
    }
    assert.deepEqual(await drift(d.db, acct), { ledger: 0n, holds: 0n });
    await progress.close();
    await writer.close();
  });

  test("the recorded bound never runs past max_tokens; a stream that ends stops writing", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "100");
    const id = newRequestId();
    await billing.reserve({ requestId: id, auth: authFor(acct), endpoint: "chat.completions", model: GPT4O, promptTokens: 10, requestedMaxTokens: 20 });
    const progress = new StreamProgress({ db: d.db, aheadTokens: 64 });
    await progress.start(id, { promptTokens: 10, maxTokens: 20 });
    for (let n = 1; n <= 5; n++) await progress.report(id, n);
    assert.equal((await holdRow(id)).progressCompletionTokens, 20);
    // An upstream ignoring max_tokens: every extra token is recorded exactly, before it is sent.
    await progress.report(id, 23);
    assert.equal((await holdRow(id)).progressCompletionTokens, 23);
    progress.end(id);
    assert.equal(progress.report(id, 500), undefined);
    await progress.close();
    assert.equal((await holdRow(id)).progressCompletionTokens, 23);
  });

  test("heartbeat: a live stream's hold is extended past its TTL and the sweeper leaves it alone", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "100");
    const id = newRequestId();
    const res = await billing.reserve({ requestId: id, auth: authFor(acct), endpoint: "chat.completions", model: GPT4O, promptTokens: 10, requestedMaxTokens: 20 });
    // As if the TTL were short: it expires in 300 ms.
    await d.db.execute(sql`update holds set expires_at = now() + interval '300 milliseconds' where request_id = ${id}`);
    const progress = new StreamProgress({ db: d.db, heartbeatMs: 100, extendMs: 5_000 });
    await progress.start(id, { promptTokens: 10, maxTokens: 20 });
    await new Promise((r) => setTimeout(r, 700));
    const swept = await sweepHolds(d.db);
    assert.equal(swept.settled + swept.released, 0, "a streaming hold is never swept");
    const h = await holdRow(id);
    assert.equal(h.status, "open");
    assert.ok(h.expiresAt.getTime() > Date.now() + 3_000, "extended by the heartbeat");
    progress.end(id);
    await progress.close();
    await res.settle(usage(10, 5), served());
    assert.equal((await holdRow(id)).status, "settled");
  });

  test("a pending log row whose hold was settled (final row lost in memory) is closed with the billed usage", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "100");
    const id = newRequestId();
    const res = await billing.reserve({ requestId: id, auth: authFor(acct), endpoint: "chat.completions", model: GPT4O, promptTokens: 10, requestedMaxTokens: 100 });
    await d.db.insert(requestLogs).values({ id, accountId: acct, endpoint: "chat.completions", status: "pending", createdAt: new Date(Date.now() - 600_000) });
    await res.settle(usage(12, 34), served());
    const young = newRequestId();
    await d.db.insert(requestLogs).values({ id: young, accountId: acct, endpoint: "chat.completions", status: "pending" });
    const r = await sweepHolds(d.db, { pendingGraceMs: 120_000 });
    assert.ok(r.logsClosed >= 1);
    const log = (await logRow(id))!;
    assert.equal(log.status, "interrupted");
    assert.deepEqual([log.promptTokens, log.completionTokens, log.totalTokens], [12, 34, 46]);
    assert.equal(log.priceMicros, (await holdRow(id)).chargedMicros);
    assert.equal((await logRow(young))!.status, "pending", "a row younger than the grace may still get its final row");
    // The final row arriving late (journal replay) still completes an interrupted row.
    const w = new RequestLogWriter({ db: d.db, logger: silent });
    w.finish({ id, accountId: acct, endpoint: "chat.completions", status: "completed", promptTokens: 12, completionTokens: 34, totalTokens: 46 });
    await w.close();
    assert.equal((await logRow(id))!.status, "completed");
  });

  test("journal: final rows still in memory at a crash are replayed by the next process; torn lines are skipped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-journal-"));
    const j1 = new RequestLogJournal({ dir, fsyncMs: 10 });
    const w1 = new RequestLogWriter({ db: d.db, logger: silent, flushIntervalMs: 60_000, journal: j1 });
    const acct = await makeAccount(d.db, "0");
    const ids = Array.from({ length: 12 }, () => newRequestId());
    for (const id of ids) {
      w1.finish({ id, accountId: acct, endpoint: "chat.completions", status: "completed", promptTokens: 3, completionTokens: 4, totalTokens: 7, priceMicros: 42n, createdAt: new Date(), completedAt: new Date() });
    }
    appendFileSync(j1.path, '{"id":"req_torn","accou');
    // kill -9: w1 never flushes, j1 is never closed.
    assert.equal(await d.db.$count(requestLogs, sql`${requestLogs.id} in ${ids}`), 0);
    const left = RequestLogJournal.recover(dir, silent);
    assert.equal(left.rows.length, 12);
    const j2 = new RequestLogJournal({ dir, fsyncMs: 0 });
    const w2 = new RequestLogWriter({ db: d.db, logger: silent, journal: j2 });
    for (const r of left.rows) w2.finish(reviveLogRow(r));
    RequestLogJournal.discard(left.files);
    await w2.flush();
    const rows = await d.db.select().from(requestLogs).where(sql`${requestLogs.id} in ${ids}`);
    assert.equal(rows.length, 12);
    assert.ok(rows.every((r) => r.status === "completed" && r.priceMicros === 42n && r.totalTokens === 7));
    assert.equal(j2.size, 0, "written rows leave the journal");
    await w2.close();
    j2.close();
    assert.deepEqual(readdirSync(dir), [], "nothing left to replay");
  });

  test("journal lines are the row's database form, and lines an older version wrote with the row's own field names replay too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-journal-"));
    const acct = await makeAccount(d.db, "0");
    const [fresh, old] = [newRequestId(), newRequestId()];
    const j1 = new RequestLogJournal({ dir, fsyncMs: 0 });
    const w1 = new RequestLogWriter({ db: d.db, logger: silent, flushIntervalMs: 60_000, journal: j1 });
    w1.finish({ id: fresh, accountId: acct, endpoint: "chat.completions", status: "completed", totalTokens: 9, priceMicros: 7n, completedAt: new Date("2026-12-01T10:00:00Z"), meta: { tries: [{ providerId: "p1" }] } });
    const line = JSON.parse(readFileSync(j1.path, "utf8").trim()) as Record<string, unknown>;
    assert.equal(line.account_id, acct);
    assert.equal(line.price_micros, "7");
    appendFileSync(j1.path, `${JSON.stringify({ id: old, accountId: acct, endpoint: "chat.completions", status: "completed", totalTokens: 5, priceMicros: "3", completedAt: "2026-12-01T10:00:00.000Z" })}\n`);
    const left = RequestLogJournal.recover(dir, silent);
    const rows = new Map(left.rows.map((r) => [r.id as string, reviveLogRow(r)]));
    for (const [id, price, total] of [[fresh, 7n, 9], [old, 3n, 5]] as const) {
      const r = rows.get(id)!;
      assert.equal(r.accountId, acct);
      assert.equal(r.priceMicros, price);
      assert.equal(r.totalTokens, total);
      assert.ok(r.completedAt instanceof Date && r.completedAt.toISOString() === "2026-12-01T10:00:00.000Z");
    }
    assert.deepEqual(rows.get(fresh)!.meta, { tries: [{ providerId: "p1" }] });
    const w2 = new RequestLogWriter({ db: d.db, logger: silent });
    for (const r of rows.values()) w2.finish(r);
    RequestLogJournal.discard(left.files);
    await w2.close();
    const stored = await d.db.select().from(requestLogs).where(sql`${requestLogs.id} in ${[fresh, old]}`);
    assert.deepEqual(stored.map((r) => r.priceMicros).sort(), [3n, 7n]);
    j1.close(false);
  });

  test("a poison row in a batch of 20 is isolated: 19 written, it is dead-lettered with a log line, logging goes on; counts above 2^31, NUL and lone surrogates are stored", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "error" }, { write: (s: string) => void lines.push(s) });
    const w = new RequestLogWriter({ db: d.db, logger, flushIntervalMs: 60_000, maxRowAttempts: 3 });
    const acct = await makeAccount(d.db, "0");
    const ids = Array.from({ length: 20 }, () => newRequestId());
    for (const [i, id] of ids.entries()) {
      const row = { id, accountId: acct, endpoint: "chat.completions", status: "completed" as const, promptTokens: 1, completionTokens: 1, totalTokens: 2 };
      if (i === 7) w.finish({ ...row, accountId: null as unknown as string }); // not null violation
      else if (i === 3) w.finish({ ...row, promptTokens: 2 ** 31 + 5, totalTokens: 10 ** 15, latencyMs: 5e9, ttftMs: -1e12, requestedModel: "gpt-4\u0000o", meta: { e: "x\u0000\ud800y" } });
      else w.finish(row);
    }
    await w.flush();
    const rows = await d.db.select().from(requestLogs).where(sql`${requestLogs.id} in ${ids}`);
    assert.equal(rows.length, 19);
    assert.ok(!rows.some((r) => r.id === ids[7]));
    const big = rows.find((r) => r.id === ids[3])!;
    assert.equal(big.promptTokens, 2 ** 31 + 5);
    assert.equal(big.totalTokens, 10 ** 15);
    assert.equal(big.latencyMs, 2 ** 31 - 1);
    assert.equal(big.requestedModel, "gpt-4\ufffdo");
    assert.deepEqual(big.meta, { e: "x\ufffd\ufffdy" });
    assert.equal(w.deadLettered, 1);
    assert.equal(w.queued, 0);
    const dl = lines.map((l) => JSON.parse(l) as { msg: string; row?: { id: string }; sqlstate?: string }).find((l) => /dead letter/.test(l.msg));
    assert.ok(dl, "a log line names the dropped row");
    assert.equal(dl.row?.id, ids[7]);
    assert.equal(dl.sqlstate, "23502");
    // Logging goes on.
    const more = Array.from({ length: 5 }, () => newRequestId());
    for (const id of more) w.finish({ id, accountId: acct, endpoint: "chat.completions", status: "completed" });
    await w.flush();
    assert.equal(await d.db.$count(requestLogs, sql`${requestLogs.id} in ${more}`), 5);
    await w.close();
  });

  test("a database that is down drops nothing: the batch stays queued and is written once it is back", async () => {
    let down = true;
    const real = d.db;
    const flaky = new Proxy(real, {
      get(t, p, r) {
        if (p === "execute" && down) return () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }));
        return Reflect.get(t, p, r);
      },
    });
    const w = new RequestLogWriter({ db: flaky, logger: silent, flushIntervalMs: 60_000, maxRowAttempts: 1 });
    const acct = await makeAccount(d.db, "0");
    const ids = Array.from({ length: 20 }, () => newRequestId());
    for (const id of ids) w.finish({ id, accountId: acct, endpoint: "chat.completions", status: "completed" });
    for (let i = 0; i < 3; i++) await w.flush();
    assert.equal(w.queued, 20);
    assert.equal(w.deadLettered, 0);
    down = false;
    await w.flush();
    assert.equal(await d.db.$count(requestLogs, sql`${requestLogs.id} in ${ids}`), 20);
    await w.close();
  });

  test("the sweeper prefers the final row's usage when it is larger than the recorded progress", async () => {
    const billing = billingFor(d.db, DB_PATH);
    const acct = await makeAccount(d.db, "100");
    const id = newRequestId();
    await billing.reserve({ requestId: id, auth: authFor(acct), endpoint: "chat.completions", model: GPT4O, promptTokens: 10, requestedMaxTokens: 1000 });
    const progress = new StreamProgress({ db: d.db, aheadTokens: 4 });
    await progress.start(id, { promptTokens: 10, maxTokens: 1000 });
    await progress.report(id, 3);
    await progress.close();
    // The process wrote its final row (upstream usage), then died before settling.
    await d.db.insert(requestLogs).values({ id, accountId: acct, endpoint: "chat.completions", status: "completed", providerId: "mock", promptTokens: 11, completionTokens: 90, totalTokens: 101 });
    const r = await sweepHolds(d.db, { now: FAR() });
    assert.ok(r.settled >= 1);
    const h = await holdRow(id);
    assert.deepEqual([h.promptTokens, h.completionTokens], [11, 90]);
    const log = (await logRow(id))!;
    assert.equal(log.status, "completed");
    assert.equal(log.priceMicros, h.chargedMicros);
    const open = await d.db.$count(holds, and(eq(holds.accountId, acct), eq(holds.status, "open")));
    assert.equal(open, 0);
    assert.equal((await account(d.db, acct)).reservedMicros, 0n);
  });
});
