import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import { startWorker } from "../core/worker.js";
import { readImage } from "./pglite-image.js";
import { RemotePglite } from "./pglite-remote.js";
import * as schema from "./schema/index.js";

const MIGRATIONS = fileURLToPath(new URL("../../drizzle", import.meta.url));

export { schema };
export type Schema = typeof schema;
/** The one database type the domain modules see; PGlite and node-postgres both satisfy it. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** Cheap liveness probe for /health. */
  ping(): Promise<void>;
  /** Applies the committed drizzle-kit migrations; a second run is a no-op. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  /**
   * PostgreSQL only. A database that is down or paused must not hold requests without bound:
   * waiting for a pool connection / a new connection (connectTimeoutMs), a statement on the server
   * (statementTimeoutMs, also idle-in-transaction), and a reply at all (queryTimeoutMs, client-side:
   * the one that fires when the server is frozen). 0 = no limit.
   */
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  queryTimeoutMs?: number;
  /** PGlite only: shared_buffers in MiB (default 16; PostgreSQL's own default is 128). */
  pgliteSharedBuffersMb?: number;
  /** PGlite only: run it on a worker thread, off the event loop (default true; pglite-remote.ts). */
  pgliteWorker?: boolean;
  /**
   * PGlite `memory://` only: a data-directory image (a tar from PGlite's `dumpDataDir`) to start
   * from instead of running initdb. initdb costs ≈ 3 s of CPU, loading an image ≈ 0.5 s: the test
   * suites open hundreds of databases.
   */
  pgliteImage?: string;
}

export const DEFAULT_DATABASE_TIMEOUTS = { connectTimeoutMs: 5_000, statementTimeoutMs: 30_000, queryTimeoutMs: 35_000 } as const;

/** PostgreSQL when a URL is given, else PGlite in `dataDir/pglite` (created if missing). */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pg = await import("pg");
    const { drizzle } = await import("drizzle-orm/node-postgres");
    // bigint columns come back as strings by default; drizzle converts them for mode:"bigint".
    const t = { ...DEFAULT_DATABASE_TIMEOUTS, ...definedOnly(opts) };
    const pool = new pg.default.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: t.connectTimeoutMs,
      ...(t.statementTimeoutMs > 0 ? { statement_timeout: t.statementTimeoutMs, idle_in_transaction_session_timeout: t.statementTimeoutMs } : {}),
      ...(t.queryTimeoutMs > 0 ? { query_timeout: t.queryTimeoutMs } : {}),
      keepAlive: true,
    });
    pool.on("error", () => {
      /* idle client errors surface on the next query; do not crash the process */
    });
    const db = drizzle(pool, { schema, casing: "snake_case" }) as unknown as Db;
    return {
      db,
      kind: "postgres",
      ping: async () => {
        await pool.query("select 1");
      },
      migrate: async () => {
        const { migrate } = await import("drizzle-orm/node-postgres/migrator");
        // Migrations (and waiting for another process's) may take longer than a request's timeouts:
        // they get their own pool without statement/query limits.
        const migrationPool = new pg.default.Pool({ connectionString: opts.databaseUrl, max: 2, connectionTimeoutMillis: t.connectTimeoutMs });
        migrationPool.on("error", () => undefined);
        const migrationDb = drizzle(migrationPool, { schema, casing: "snake_case" });
        // Several gateway processes may start at once: serialize on an advisory lock held by one session.
        const lockClient = await migrationPool.connect();
        try {
          await lockClient.query("select pg_advisory_lock(727274)");
          await migrate(migrationDb as never, { migrationsFolder: MIGRATIONS });
        } finally {
          await lockClient.query("select pg_advisory_unlock(727274)").catch(() => undefined);
          lockClient.release();
          await migrationPool.end();
        }
      },
      close: async () => {
        await pool.end();
      },
    };
  }
  const { PGlite: InProcess } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const dir = opts.dataDir === "memory://" ? "memory://" : resolve(opts.dataDir, "pglite");
  const postgresqlconf = pgliteConf(opts.pgliteSharedBuffersMb ?? 16);
  const image = dir === "memory://" ? opts.pgliteImage : undefined;
  if (dir !== "memory://") {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, "PG_VERSION"))) await initInWorker(dir, postgresqlconf);
  }
  const client =
    opts.pgliteWorker === false
      ? await InProcess.create(dir, { postgresqlconf, ...(image ? { loadDataDir: await readImage(image) } : {}) })
      : await RemotePglite.start(dir, postgresqlconf, image);
  // RemotePglite implements the part of PGlite's client interface the driver calls.
  const db = drizzle(client as PGlite, { schema, casing: "snake_case" }) as unknown as Db;
  return {
    db,
    kind: "pglite",
    ping: async () => {
      await client.query("select 1");
    },
    migrate: async () => {
      const { migrate } = await import("drizzle-orm/pglite/migrator");
      await migrate(db as never, { migrationsFolder: MIGRATIONS });
    },
    close: async () => {
      await client.close();
    },
  };
}

function pgliteConf(sharedBuffersMb: number): string[] {
  return [`shared_buffers = ${sharedBuffersMb}MB`, "work_mem = 1MB", "maintenance_work_mem = 8MB", "wal_buffers = 1MB"];
}

/**
 * initdb on a fresh data directory runs in a worker thread that exits afterwards: done in the
 * process, it leaves ~650 MiB resident for the life of the gateway; this way the first start
 * idles like every later one.
 */
async function initInWorker(dir: string, postgresqlconf: string[]): Promise<void> {
  const worker = startWorker(import.meta.url, "pglite-init-worker", { workerData: { dir, postgresqlconf } });
  try {
    await new Promise<void>((done, fail) => {
      worker.once("message", (m: { error?: string }) => (m.error ? fail(new Error(`PGlite initdb failed: ${m.error}`)) : done()));
      worker.once("error", fail);
      worker.once("exit", (code) => fail(new Error(`PGlite initdb worker exited with code ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}

function definedOnly(o: OpenDatabaseOptions): Partial<Record<keyof typeof DEFAULT_DATABASE_TIMEOUTS, number>> {
  const out: Partial<Record<keyof typeof DEFAULT_DATABASE_TIMEOUTS, number>> = {};
  if (o.connectTimeoutMs !== undefined) out.connectTimeoutMs = o.connectTimeoutMs;
  if (o.statementTimeoutMs !== undefined) out.statementTimeoutMs = o.statementTimeoutMs;
  if (o.queryTimeoutMs !== undefined) out.queryTimeoutMs = o.queryTimeoutMs;
  return out;
}
