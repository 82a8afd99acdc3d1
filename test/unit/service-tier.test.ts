import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/core/errors.js";
import { checkServiceTier } from "../../src/proxy/request-checks.js";

test("service tiers billed at or below the list price pass; dearer or unknown ones are refused", () => {
  for (const ok of [undefined, null, "auto", "default", "flex"]) assert.doesNotThrow(() => checkServiceTier({ service_tier: ok }), String(ok));
  for (const bad of ["priority", "scale", "PRIORITY", 1, {}]) {
    assert.throws(
      () => checkServiceTier({ service_tier: bad }),
      (e: unknown) => e instanceof AppError && e.code === "unsupported_parameter" && e.extra.param === "service_tier",
      String(bad),
    );
  }
});
