import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { openDatabase, type Database } from "../../src/db/client.js";

const rowsOf = async (d: Database, q: ReturnType<typeof sql>) => ((await d.db.execute(q)) as unknown as { rows: unknown[] }).rows;

describe("the embedded database (PGlite in DATA_DIR)", () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const d = mkdtempSync(join(tmpdir(), "gw-pglite-"));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("creates a fresh data directory, runs the migrations and keeps its data across restarts", async () => {
    const dataDir = freshDir();
    let database = await openDatabase({ dataDir });
    assert.ok(existsSync(join(dataDir, "pglite", "PG_VERSION")), "initdb wrote the data directory");
    await database.migrate();
    await database.db.execute(sql`create table kept (v text)`);
    await database.db.execute(sql`insert into kept values ('still here')`);
    await database.close();

    database = await openDatabase({ dataDir });
    assert.deepEqual(await rowsOf(database, sql`select v from kept`), [{ v: "still here" }]);
    await database.migrate();
    await database.close();
  });

  it("runs with a small shared_buffers by default and takes PGLITE_SHARED_BUFFERS_MB", async () => {
    const small = await openDatabase({ dataDir: freshDir() });
    assert.deepEqual(await rowsOf(small, sql`show shared_buffers`), [{ shared_buffers: "16MB" }]);
    await small.close();
    const big = await openDatabase({ dataDir: freshDir(), pgliteSharedBuffersMb: 48 });
    assert.deepEqual(await rowsOf(big, sql`show shared_buffers`), [{ shared_buffers: "48MB" }]);
    await big.close();
    const memory = await openDatabase({ dataDir: "memory://" });
    assert.deepEqual(await rowsOf(memory, sql`show shared_buffers`), [{ shared_buffers: "16MB" }]);
    await memory.close();
  });
});
