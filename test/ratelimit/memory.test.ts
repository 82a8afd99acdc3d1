import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRateLimiter, formatResetDuration, parseOverrides } from "../../src/ratelimit/index.js";
import { silentLogger } from "./helpers.js";
import { limiterSpec } from "./spec.js";

describe("rate limiter in memory (no REDIS_URL)", () => {
  limiterSpec(async (settings, clock) => createRateLimiter({ settings, redis: null, logger: silentLogger, clock }), { sharedStore: false });

  it("reports storage memory and redis not_configured", () => {
    const rl = createRateLimiter({ settings: { windowSeconds: 60, key: { rpm: 1, tpm: 0, concurrency: 0 }, account: { rpm: 0, tpm: 0, concurrency: 0 }, model: { rpm: 0, tpm: 0, concurrency: 0 }, provider: { rpm: 0, tpm: 0, concurrency: 0 }, global: { rpm: 0, tpm: 0, concurrency: 0 }, leaseMs: 60_000, processes: 4 }, redis: null, logger: silentLogger });
    assert.deepEqual(rl.health(), { storage: "memory", redis: "not_configured" });
    rl.close();
  });
});

describe("rate-limit helpers", () => {
  it("formats reset durations as OpenAI does (Go durations)", () => {
    assert.equal(formatResetDuration(0), "0ms");
    assert.equal(formatResetDuration(17), "17ms");
    assert.equal(formatResetDuration(1000), "1s");
    assert.equal(formatResetDuration(8640), "8.64s");
    assert.equal(formatResetDuration(60_000), "1m0s");
    assert.equal(formatResetDuration(360_000), "6m0s");
    assert.equal(formatResetDuration(90_500), "1m30.5s");
    assert.equal(formatResetDuration(3_600_000), "1h0m0s");
  });

  it("parses the override shape leniently", () => {
    assert.deepEqual(parseOverrides({ rpm: 10, tpm: "2000", concurrency: 1.5, window_seconds: 0, account_rpm: 100, junk: 1 }), {
      rpm: 10,
      tpm: 2000,
      account_rpm: 100,
    });
    assert.deepEqual(parseOverrides(null), {});
  });
});
