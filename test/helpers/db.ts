import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe } from "node:test";
import pg from "pg";
import { openDatabase, type Database } from "../../src/db/client.js";

/** Admin URL of the PostgreSQL used by tests; each suite gets its own throw-away database in it. */
export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

let pgAvailable: Promise<boolean> | undefined;
export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const c = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query("select 1");
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return pgAvailable;
}

export interface TestDatabase extends Database {
  /** URL of this suite's own database (PostgreSQL only), for starting extra gateway processes. */
  url?: string;
  drop(): Promise<void>;
}

const MIGRATIONS = fileURLToPath(new URL("../../drizzle", import.meta.url));
let image: Promise<string> | undefined;

/**
 * A migrated PGlite data directory as an image file, made once per migration set and PGlite
 * version and shared by every test process (in the temp dir): initdb costs ≈ 3 s of CPU per
 * database, starting from the image ≈ 0.5 s.
 */
function migratedImage(): Promise<string> {
  image ??= (async () => {
    const hash = createHash("sha256");
    hash.update(readFileSync(new URL("../../node_modules/@electric-sql/pglite/package.json", import.meta.url)));
    for (const f of readdirSync(MIGRATIONS, { recursive: true, encoding: "utf8" }).sort()) {
      const path = join(MIGRATIONS, f);
      if (statSync(path).isFile()) hash.update(f).update(readFileSync(path));
    }
    const file = join(tmpdir(), `gw-pglite-image-${hash.digest("hex").slice(0, 16)}.tar`);
    if (existsSync(file)) return file;
    const { PGlite } = await import("@electric-sql/pglite");
    const pg = await PGlite.create("memory://");
    const { drizzle } = await import("drizzle-orm/pglite");
    const { migrate } = await import("drizzle-orm/pglite/migrator");
    await migrate(drizzle(pg, { casing: "snake_case" }), { migrationsFolder: MIGRATIONS });
    const dump = Buffer.from(await (await pg.dumpDataDir("none")).arrayBuffer());
    await pg.close();
    // Several test processes may make it at once: each writes its own file, the rename is atomic.
    const part = `${file}.${process.pid}.part`;
    writeFileSync(part, dump);
    renameSync(part, file);
    return file;
  })();
  return image;
}

/** A fresh, migrated PGlite in memory. */
export async function createPgliteDb(): Promise<TestDatabase> {
  const d = await openDatabase({ dataDir: "memory://", pgliteImage: await migratedImage() });
  await d.migrate();
  return { ...d, drop: () => d.close() };
}

/** A fresh, migrated database in the test PostgreSQL; dropped by `drop()`. */
export async function createPostgresDb(): Promise<TestDatabase> {
  const name = `gwtest_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  const d = await openDatabase({ dataDir: "unused", databaseUrl: url.toString(), poolSize: 20 });
  await d.migrate();
  return {
    ...d,
    url: url.toString(),
    drop: async () => {
      await d.close();
      const a = new pg.Client({ connectionString: TEST_PG_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export type DbKind = "pglite" | "postgres";

/**
 * Runs `body` once against PGlite and once against PostgreSQL. In CI a missing PostgreSQL is a
 * failure; on a developer machine it prints one line saying what was skipped and why.
 */
export function describeEachDb(title: string, body: (kind: DbKind, create: () => Promise<TestDatabase>) => void): void {
  describe(`${title} [pglite]`, () => body("pglite", createPgliteDb));
  describe(`${title} [postgres]`, async () => {
    const ok = await postgresAvailable();
    if (!ok) {
      if (IN_CI) throw new Error(`PostgreSQL is not reachable at ${TEST_PG_URL}; CI must run the PostgreSQL suites`);
      console.log(`# SKIPPED postgres suite "${title}": PostgreSQL not reachable at ${TEST_PG_URL}`);
      return;
    }
    body("postgres", createPostgresDb);
  });
}
