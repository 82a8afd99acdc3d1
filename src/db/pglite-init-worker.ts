/** Creates a PGlite data directory (initdb) and exits; see initInWorker in client.ts for why. */
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";

const { dir, postgresqlconf } = workerData as { dir: string; postgresqlconf: string[] };
try {
  const pg = await PGlite.create(dir, { postgresqlconf });
  await pg.query("select 1");
  await pg.close();
  parentPort?.postMessage({});
} catch (e) {
  parentPort?.postMessage({ error: (e as Error).message });
}
