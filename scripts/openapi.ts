/**
 * Prints the gateway's OpenAPI document (what GET /openapi.json serves) to stdout, or writes it to the
 * file named by the first argument. Starts a throw-away gateway on PGlite in a temporary directory.
 * `npm run lint:openapi` lints its output with Redocly.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEnv } from "../src/config/env.js";
import { createLogger } from "../src/core/logger.js";
import { startGateway } from "../src/main/gateway.js";

const dataDir = mkdtempSync(join(tmpdir(), "gw-openapi-"));
const vars = { HOST: "127.0.0.1", PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "silent", ADMIN_TOKEN: "openapi-document-token-000000000", METRICS_ENABLED: "true" };
const gw = await startGateway({ env: loadEnv(vars), vars, logger: createLogger({ level: "silent" }) });
try {
  const doc = await (await fetch(`${gw.url}/openapi.json`)).text();
  const out = process.argv[2];
  if (out) writeFileSync(out, doc);
  else process.stdout.write(doc);
} finally {
  await gw.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
