import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { fileURLToPath } from "node:url";
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
}

/** PostgreSQL when a URL is given, else PGlite in `dataDir/pglite` (created if missing). */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pg = await import("pg");
    const { drizzle } = await import("drizzle-orm/node-postgres");
    // bigint columns come back as strings by default; drizzle converts them for mode:"bigint".
    const pool = new pg.default.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
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
        // Several gateway processes may start at once: serialize on an advisory lock held by one session.
        const lockClient = await pool.connect();
        try {
          await lockClient.query("select pg_advisory_lock(727274)");
          await migrate(db as never, { migrationsFolder: MIGRATIONS });
        } finally {
          await lockClient.query("select pg_advisory_unlock(727274)").catch(() => undefined);
          lockClient.release();
        }
      },
      close: async () => {
        await pool.end();
      },
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const dir = opts.dataDir === "memory://" ? "memory://" : resolve(opts.dataDir, "pglite");
  if (dir !== "memory://") mkdirSync(dir, { recursive: true });
  const client = await PGlite.create(dir);
  const db = drizzle(client, { schema, casing: "snake_case" }) as unknown as Db;
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
