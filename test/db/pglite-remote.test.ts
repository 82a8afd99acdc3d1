import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "drizzle-orm";
import { openDatabase, type Database } from "../../src/db/client.js";

/** The rows of a raw statement's result (drizzle types them loosely). */
const rowsOf = <T>(r: unknown): T[] => (r as { rows: T[] }).rows;

/** Timer turns of the event loop while `work` runs. */
async function turnsDuring(work: Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  await work;
  done = true;
  return turns;
}

// A statement that keeps PostgreSQL busy for a while (hundreds of ms in WebAssembly).
const HEAVY = sql`select count(*) from generate_series(1, 2000000) g where g % 7 = 3`;

describe("PGlite on its own thread", () => {
  let d: Database;
  before(async () => {
    d = await openDatabase({ dataDir: "memory://" });
    await d.db.execute(sql`create table t (x int primary key)`);
  });
  after(() => d.close());

  test("a transaction commits when its function resolves and rolls back when it throws; a nested one is a savepoint", async () => {
    await d.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t values (1)`);
      await tx.transaction(async (inner) => inner.execute(sql`insert into t values (2)`)).catch(() => undefined);
      await assert.rejects(tx.transaction(async (inner) => {
        await inner.execute(sql`insert into t values (3)`);
        throw new Error("undo the savepoint");
      }));
    });
    await assert.rejects(
      d.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values (4)`);
        throw new Error("roll back");
      }),
      /roll back/,
    );
    const rows = rowsOf<{ x: number }>(await d.db.execute(sql`select x from t order by x`));
    assert.deepEqual(rows.map((r) => r.x), [1, 2]);
  });

  test("errors carry PostgreSQL's SQLSTATE and detail, as in-process PGlite's do", async () => {
    type Failure = Error & { cause?: { code?: string; detail?: string } };
    const e = (await d.db.execute(sql`insert into t values (1)`).then(
      () => null,
      (x: unknown) => x,
    )) as Failure | null;
    assert.ok(e instanceof Error);
    assert.equal(e.cause?.code, "23505");
    assert.match(String(e.cause?.detail), /already exists/);
  });

  test("a statement outside a transaction waits for the open transaction, then sees its commit", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = d.db.transaction(async (t) => {
      await t.execute(sql`insert into t values (10)`);
      await gate;
    });
    const count = d.db.execute(sql`select count(*)::int as n from t where x = 10`);
    setTimeout(release, 30);
    await tx;
    assert.equal(rowsOf<{ n: number }>(await count)[0]?.n, 1);
  });

  test("the event loop keeps turning while a heavy statement runs (in-process PGlite stops it)", async () => {
    const remote = await turnsDuring(d.db.execute(HEAVY));
    const local = await openDatabase({ dataDir: "memory://", pgliteWorker: false });
    try {
      await local.db.execute(sql`select 1`);
      const inProcess = await turnsDuring(local.db.execute(HEAVY));
      assert.ok(remote > inProcess + 5, `timer turns during the statement: worker ${remote}, in-process ${inProcess}`);
    } finally {
      await local.close();
    }
  });

  test("after close, statements are refused with a clear error", async () => {
    const x = await openDatabase({ dataDir: "memory://" });
    await x.close();
    await assert.rejects(x.db.execute(sql`select 1`), (e: Error & { cause?: Error }) => /embedded database is closed/.test(String(e.cause?.message)));
  });
});
