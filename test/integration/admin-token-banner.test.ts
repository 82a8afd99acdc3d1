import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { spawnGateway } from "../helpers/gateway.js";

test("a generated admin token is printed once, on the start that made it", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gw-admintoken-"));
  try {
    // ADMIN_TOKEN empty = unset: the gateway generates one into DATA_DIR/admin-token.
    const first = await spawnGateway({ DATA_DIR: join(dataDir, "gen"), ADMIN_TOKEN: "", LOG_LEVEL: "info" });
    const firstOut = first.output();
    assert.equal(await first.stop(), 0);
    const token = readFileSync(join(dataDir, "gen", "admin-token"), "utf8").trim();
    assert.match(token, /^gwadm_/);
    assert.equal(firstOut.split(token).length - 1, 1, `printed exactly once:\n${firstOut}`);

    const second = await spawnGateway({ DATA_DIR: join(dataDir, "gen"), ADMIN_TOKEN: "", LOG_LEVEL: "info" });
    const secondOut = second.output();
    assert.equal(await second.stop(), 0);
    assert.ok(!secondOut.includes(token), `not printed again:\n${secondOut}`);
    assert.match(secondOut, /Admin token: in DATA_DIR\/admin-token/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
