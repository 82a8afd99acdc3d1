import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { currentOpenApiDocument } from "../../scripts/web-api-types.js";

// The web app's API types are generated from this document; a route change without
// `npm run web:api-types` would leave the app typed against an API that no longer exists.
test("web/src/api/openapi.json is the gateway's current /openapi.json (run `npm run web:api-types` after changing routes)", async () => {
  const committed = readFileSync(new URL("../../web/src/api/openapi.json", import.meta.url), "utf8");
  assert.equal(committed, await currentOpenApiDocument());
});
