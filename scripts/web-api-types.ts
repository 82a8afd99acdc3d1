/**
 * Regenerates the web app's API types from the gateway's own /openapi.json:
 * starts a throw-away gateway (PGlite in a temp dir), saves the document as web/src/api/openapi.json
 * and runs openapi-typescript over it into web/src/api/schema.d.ts. Both files are committed;
 * test/web/api-types.test.ts fails when they drift from the routes.
 * Usage: npm run web:api-types
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEnv } from "../src/config/env.js";
import { createLogger } from "../src/core/logger.js";
import { startGateway } from "../src/main/gateway.js";

const root = new URL("..", import.meta.url).pathname;

export async function currentOpenApiDocument(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "gw-openapi-"));
  const vars = { HOST: "127.0.0.1", PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "silent", ADMIN_TOKEN: "openapi-document-only", METRICS_ENABLED: "false" };
  const gw = await startGateway({ env: loadEnv(vars), vars, logger: createLogger({ level: "silent" }) });
  try {
    const doc = await (await fetch(`${gw.url}/openapi.json`)).json();
    return JSON.stringify(doc, null, 2) + "\n";
  } finally {
    await gw.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const json = join(root, "web/src/api/openapi.json");
  writeFileSync(json, await currentOpenApiDocument());
  execFileSync(join(root, "node_modules/.bin/openapi-typescript"), [json, "-o", join(root, "web/src/api/schema.d.ts")], { stdio: "inherit" });
}
