import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { createLogger } from "../../src/core/logger.js";
import { requestLogs } from "../../src/db/schema/index.js";
import { RequestLogWriter } from "../../src/logs/request-log-writer.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";

describeEachDb("request log writer", (_kind, createDb) => {
  let db: TestDatabase;
  let w: RequestLogWriter;
  before(async () => {
    db = await createDb();
    w = new RequestLogWriter({ db: db.db, logger: createLogger({ level: "silent" }), flushIntervalMs: 10_000 });
  });
  after(async () => {
    await w.close();
    await db.drop();
  });
  const base = { accountId: "acct_x", endpoint: "chat.completions", createdAt: new Date() };
  const get = async (id: string) => (await db.db.select().from(requestLogs).where(eq(requestLogs.id, id)))[0];

  test("pending then final in separate flushes: pending row, then completed with every field", async () => {
    w.begin({ ...base, id: "req_a", stream: true, status: "pending", requestedModel: "m" });
    await w.flush();
    assert.equal((await get("req_a"))!.status, "pending");
    w.finish({ ...base, id: "req_a", stream: true, status: "completed", promptTokens: 5, completionTokens: 7, totalTokens: 12, priceMicros: 123n, upstreamCostMicros: 100n, profitMicros: 23n, meta: { a: 1 }, completedAt: new Date() });
    await w.flush();
    const row = (await get("req_a"))!;
    assert.equal(row.status, "completed");
    assert.equal(row.totalTokens, 12);
    assert.equal(row.priceMicros, 123n);
    assert.equal(row.profitMicros, 23n);
    assert.deepEqual(row.meta, { a: 1 });
    assert.equal(row.stream, true);
    assert.equal(row.requestedModel, "m");
  });

  test("begin and finish in one window coalesce into the final row; a late pending never overwrites a final", async () => {
    w.begin({ ...base, id: "req_b", status: "pending" });
    w.finish({ ...base, id: "req_b", status: "failed", errorCode: "upstream_error" });
    w.begin({ ...base, id: "req_b", status: "pending" });
    await w.flush();
    assert.equal((await get("req_b"))!.status, "failed");
    w.begin({ ...base, id: "req_b", status: "pending" });
    await w.flush();
    assert.equal((await get("req_b"))!.status, "failed");
    assert.equal((await get("req_b"))!.errorCode, "upstream_error");
  });

  test("a final row is not replaced by a second final (settled once)", async () => {
    w.finish({ ...base, id: "req_c", status: "completed", totalTokens: 1 });
    await w.flush();
    w.finish({ ...base, id: "req_c", status: "cancelled", totalTokens: 99 });
    await w.flush();
    const row = (await get("req_c"))!;
    assert.equal(row.status, "completed");
    assert.equal(row.totalTokens, 1);
  });

  test("close() writes everything still queued", async () => {
    for (let i = 0; i < 1200; i++) w.finish({ ...base, id: `req_bulk_${i}`, status: "completed" });
    assert.equal(w.queued, 1200);
    await w.close();
    const rows = await db.db.select({ id: requestLogs.id }).from(requestLogs);
    assert.equal(rows.filter((r) => r.id.startsWith("req_bulk_")).length, 1200);
  });
});
