/**
 * Not a test: measures the gateway-process CPU that billing adds per request (reserve + settle),
 * in this process, against PGlite (where the database itself runs in-process, so its CPU counts
 * too) and PostgreSQL (where only the client side counts, as in a real deployment).
 *
 *   node --import tsx test/billing/bench-hold-settle.ts [requests=4000] [concurrency=1,32] [pglite|pglite-file|postgres] [warm-up=1000]
 */
import { billingSettings } from "../../src/main/settings.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/db/client.js";
import { createPgliteDb, createPostgresDb, postgresAvailable, type TestDatabase } from "../helpers/db.js";
import { ensureBillingDefaults } from "../../src/billing/defaults.js";
import { newRequestId } from "../../src/core/ids.js";
import { authFor, billingFor, makeAccount, model, served, testEnv, usage } from "./helpers.js";

const N = Number(process.argv[2] ?? 4000);
const CONC = (process.argv[3] ?? "1,32").split(",").map(Number);
const ONLY = process.argv[4];
const WARMUP = Number(process.argv[5] ?? 1000);
const M = model("bench/mini", { input: "0.15", output: "0.6" });

async function run(d: TestDatabase, label: string) {
  await ensureBillingDefaults(d.db, billingSettings(testEnv()));
  const billing = billingFor(d.db, { BILLING_CACHE_TTL_MS: 60_000 });
  const acct = await makeAccount(d.db, "1000000");
  const auth = authFor(acct, { keyLimits: { daily_tokens: 1_000_000_000 } });
  const once = async () => {
    const r = await billing.reserve({ requestId: newRequestId(), auth, endpoint: "chat.completions", model: M, promptTokens: 250, requestedMaxTokens: 100 });
    await r.settle(usage(250, 100), served());
  };
  for (let i = 0; i < WARMUP; i++) await once(); // warm-up: JIT, caches, plan cache
  for (const c of CONC) {
    const per = Math.ceil(N / c);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: c }, async () => {
      for (let i = 0; i < per; i++) await once();
    }));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const total = per * c;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `${label.padEnd(10)} concurrency ${String(c).padStart(3)}: ${total} reserve+settle in ${ms.toFixed(0)} ms ` +
        `(${((total / ms) * 1000).toFixed(0)}/s), process CPU ${(cpuMs / total).toFixed(3)} ms per request ` +
        `(user ${(cpu.user / 1000 / total).toFixed(3)}, system ${(cpu.system / 1000 / total).toFixed(3)})`,
    );
  }
  await billing.close();
}

if (ONLY === "pglite-file") {
  // PGlite on disk, as the gateway runs it by default (DATA_DIR).
  const dir = mkdtempSync(join(tmpdir(), "bench-pglite-"));
  const db = await openDatabase({ dataDir: dir });
  await db.migrate();
  try {
    await run({ ...db, drop: () => db.close() }, "pglite-file");
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
if (ONLY === undefined || ONLY === "pglite") {
  const lite = await createPgliteDb();
  try {
    await run(lite, "pglite");
  } finally {
    await lite.drop();
  }
}
if ((ONLY === undefined || ONLY === "postgres") && (await postgresAvailable())) {
  const pg = await createPostgresDb();
  try {
    await run(pg, "postgres");
  } finally {
    await pg.drop();
  }
}
