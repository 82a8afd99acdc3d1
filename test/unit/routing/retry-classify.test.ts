import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyFailure, finalError, parseRetryAfter } from "../../../src/routing/classify.js";
import { backoffDelay, nextDelay, RetryBudget } from "../../../src/routing/retry.js";
import { seededRng } from "../../../src/routing/rng.js";

describe("retry policy", () => {
  it("full jitter stays within [0, min(max, base·2^n))", () => {
    const rng = seededRng(5);
    const p = { baseDelayMs: 100, maxDelayMs: 1000 };
    for (let n = 0; n < 8; n++) {
      const cap = Math.min(1000, 100 * 2 ** n);
      let max = 0;
      for (let i = 0; i < 300; i++) {
        const d = backoffDelay(n, p, rng);
        assert.ok(d >= 0 && d < cap, `retry ${n}: ${d}`);
        max = Math.max(max, d);
      }
      assert.ok(max > cap * 0.8, "jitter spans the range");
    }
  });

  it("no delay that would end past the deadline; Retry-After is a floor", () => {
    const p = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, deadlineMs: 5000 };
    assert.equal(nextDelay(0, p, () => 0.5, 1000, 2000), 2000);
    assert.equal(nextDelay(0, p, () => 0.5, 3500, 2000), null);
    assert.equal(nextDelay(0, p, () => 0.5, 4990, null), null);
    assert.equal(nextDelay(0, p, () => 0.5, 0, null), 50);
  });

  it("retry budget: retries ≤ 20 % of recent requests (with a floor), per upstream", () => {
    let t = 0;
    const b = new RetryBudget({ ratio: 0.2, minPerWindow: 2, windowMs: 1000 }, { now: () => t });
    for (let i = 0; i < 100; i++) b.onRequest("dead");
    let granted = 0;
    for (let i = 0; i < 100; i++) if (b.tryRetry("dead")) granted++;
    assert.equal(granted, 20);
    // Another upstream has its own budget (the floor).
    assert.equal(b.tryRetry("other"), true);
    assert.equal(b.tryRetry("other"), true);
    assert.equal(b.tryRetry("other"), false);
    // Two windows later the budget is back.
    t += 2000;
    assert.equal(b.tryRetry("dead"), true);
  });
});

describe("failure classification", () => {
  const http = (status: number, body?: unknown, retryAfter?: string) =>
    classifyFailure({ kind: "http", status, body: body === undefined ? undefined : JSON.stringify(body), retryAfter });

  it("transport failures and timeouts: next route, breaker failure", () => {
    for (const kind of ["connect", "network"] as const) {
      const c = classifyFailure({ kind });
      assert.deepEqual([c.retryable, c.sameUpstream, c.breakerFailure, c.error.status], [true, true, true, 502]);
    }
    for (const kind of ["timeout_connect", "timeout_first_byte", "timeout_idle", "timeout_total"] as const) {
      const c = classifyFailure({ kind });
      assert.equal(c.reason, "timeout");
      assert.equal(c.retryable, true);
      assert.equal(c.sameUpstream, false, "a slow upstream is not waited on twice");
      assert.equal(c.error.status, 504);
      assert.equal(c.error.code, "upstream_timeout");
    }
  });

  it("429 and 5xx are retryable; 429 keeps Retry-After", () => {
    const r = http(429, { error: { message: "slow down" } }, "3");
    assert.deepEqual([r.reason, r.retryable, r.breakerFailure, r.retryAfterMs, r.error.status], ["rate_limited", true, true, 3000, 429]);
    assert.equal(r.error.extra.headers?.["retry-after"], "3");
    for (const s of [500, 502, 503, 504, 529]) {
      const c = http(s, { error: { message: "boom at /srv/app.py" } });
      assert.equal(c.retryable, true, String(s));
      assert.equal(c.breakerFailure, true);
      assert.equal(c.error.status, s === 504 ? 504 : 502);
      assert.ok(!c.error.message.includes("/srv/app.py"), "5xx texts are not shown");
    }
  });

  it("model unavailable and context length: next route, but the upstream is healthy", () => {
    const m = http(404, { error: { message: "No endpoints found for openai/gpt-9." } });
    assert.deepEqual([m.reason, m.retryable, m.breakerFailure, m.sameUpstream], ["model_unavailable", true, false, false]);
    assert.deepEqual([m.error.status, m.error.code], [404, "model_not_found"]);
    const m2 = http(400, { error: { code: "model_not_found", message: "The model `x` does not exist" } });
    assert.equal(m2.reason, "model_unavailable");
    const c = http(400, { error: { code: "context_length_exceeded", message: "This model's maximum context length is 8192 tokens" } });
    assert.deepEqual([c.reason, c.retryable, c.breakerFailure, c.error.status, c.error.code], ["context_length", true, false, 400, "context_length_exceeded"]);
  });

  it("the gateway's own upstream credentials failing is never the client's 401/402", () => {
    for (const s of [401, 402, 403]) {
      const c = http(s, { error: { message: "Invalid API key" } });
      assert.deepEqual([c.reason, c.retryable, c.breakerFailure, c.error.status], ["upstream_auth", true, true, 502]);
      assert.ok(!c.error.message.includes("Invalid API key"));
    }
  });

  it("other 4xx are the client's: no retry, passed through as 4xx with the upstream message", () => {
    const c = http(400, { error: { message: "messages: field required", code: "invalid_value" } });
    assert.deepEqual([c.reason, c.retryable, c.breakerFailure, c.error.status], ["client_error", false, false, 400]);
    assert.match(c.error.message, /messages: field required/);
    assert.equal(http(422, { detail: "bad" }).error.status, 422);
    assert.equal(http(413, "x").retryable, false);
    const leak = http(400, { error: { message: "bad key sk-abcdefghijklmnop in Bearer xyz" } });
    assert.ok(!leak.error.message.includes("sk-abcdefghijklmnop") && !leak.error.message.includes("xyz"));
  });

  it("Retry-After as seconds or date; junk ignored", () => {
    assert.equal(parseRetryAfter("2", 0), 2000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 5_000), 5000);
    assert.equal(parseRetryAfter("soon"), null);
    assert.equal(parseRetryAfter(null), null);
  });

  it("final error: a transient failure is reported over a later 'model unavailable'", () => {
    const t = classifyFailure({ kind: "timeout_first_byte" });
    const m = http(404, { error: { message: "model foo not found" } });
    assert.equal(finalError([t, m]).code, "upstream_timeout");
    assert.equal(finalError([m, m]).code, "model_not_found");
    const ctx = http(400, { error: { message: "maximum context length exceeded" } });
    assert.equal(finalError([ctx, ctx]).code, "context_length_exceeded");
    assert.equal(finalError([]).code, "upstream_unavailable");
  });
});
