import { ConfigError, loadEnv } from "../config/env.js";
import { openDatabase } from "../db/client.js";
import { ensureDataDir } from "./bootstrap.js";

/** `npm run migrate`: apply every pending migration in drizzle/ to DATABASE_URL (or the PGlite data dir), then exit. */
async function main(): Promise<void> {
  let env;
  try {
    env = loadEnv(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  const dataDir = ensureDataDir(env.DATA_DIR);
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir, poolSize: 1, pgliteSharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB });
  try {
    await database.migrate();
    console.log(`migrations applied (${database.kind})`);
  } finally {
    await database.close();
  }
}

await main();
