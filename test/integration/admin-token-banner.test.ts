import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadEnv } from "../../src/config/env.js";
import { createLogger } from "../../src/core/logger.js";
import { startBanner } from "../../src/main/banner.js";
import { startGateway } from "../../src/main/gateway.js";
import { createPgliteDb } from "../helpers/db.js";

/** Starts a gateway the way `npm start` does (minus the process) and returns what it would print. */
async function bannerOf(vars: Record<string, string>): Promise<string> {
  const database = await createPgliteDb();
  const env = loadEnv({ HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "silent", METRICS_ENABLED: "false", UPSTREAM_BASE_URL: "http://127.0.0.1:9/v1", ...vars });
  const gw = await startGateway({ env, vars, database, logger: createLogger({ level: "silent" }) });
  try {
    return startBanner(gw, env.ADMIN_TOKEN !== undefined);
  } finally {
    await gw.stop();
    await database.drop();
  }
}

test("the admin token: printed once on the start that generated it, never when set, never again", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gw-admintoken-"));
  try {
    const set = "operator-set-admin-token-0123456789";
    const setOut = await bannerOf({ DATA_DIR: join(dataDir, "set"), ADMIN_TOKEN: set });
    assert.ok(!setOut.includes(set), setOut);
    assert.match(setOut, /Admin token: ADMIN_TOKEN \(as set\)/);
    assert.match(setOut, /Bearer \$ADMIN_TOKEN/);

    const first = await bannerOf({ DATA_DIR: join(dataDir, "gen") });
    const token = readFileSync(join(dataDir, "gen", "admin-token"), "utf8").trim();
    assert.match(token, /^gwadm_/);
    assert.match(first, /Admin token \(generated, shown once/);
    assert.ok(first.includes(token), first);

    const second = await bannerOf({ DATA_DIR: join(dataDir, "gen") });
    assert.ok(!second.includes(token), `not printed again:\n${second}`);
    assert.match(second, /Admin token: in DATA_DIR\/admin-token/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
