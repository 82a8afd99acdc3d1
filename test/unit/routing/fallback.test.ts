import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LocalCircuitBreakers } from "../../../src/routing/circuit-breaker.js";
import { runWithFallback, type AttemptOutcome } from "../../../src/routing/fallback.js";
import type { AttemptFailure } from "../../../src/routing/classify.js";
import { RetryBudget, type RetryPolicy } from "../../../src/routing/retry.js";
import { seededRng } from "../../../src/routing/rng.js";
import type { Attempt } from "../../../src/routing/router.js";

const att = (providerId: string): Attempt => ({
  modelId: "m",
  providerId,
  upstreamModel: "um",
  account: null,
  upstreamAccountId: null,
  breakerKey: `prv:${providerId}`,
  price: null,
});
const POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, deadlineMs: 10_000 };
const deps = (over: Partial<Parameters<typeof runWithFallback>[2]> = {}) => ({
  policy: POLICY,
  budget: new RetryBudget(),
  breakers: new LocalCircuitBreakers(),
  rng: seededRng(1),
  ...over,
});
const http = (status: number, body?: object): AttemptOutcome<string> => ({ ok: false, failure: { kind: "http", status, body: body ? JSON.stringify(body) : undefined } });
const fail = (kind: Exclude<AttemptFailure["kind"], "http">): AttemptOutcome<string> => ({ ok: false, failure: { kind } as AttemptFailure });

describe("fallback loop", () => {
  for (const [name, first] of [
    ["503", http(503)],
    ["first-byte timeout", fail("timeout_first_byte")],
    ["connection refused", fail("connect")],
  ] as const) {
    it(`first route ${name} → the second answers`, async () => {
      const calls: string[] = [];
      const r = await runWithFallback([att("a"), att("b")], async (a) => {
        calls.push(a.providerId);
        return a.providerId === "a" ? first : { ok: true, value: "from b" };
      }, deps());
      assert.ok(r.ok);
      assert.equal(r.value, "from b");
      assert.equal(r.attempt.providerId, "b");
      assert.equal(r.attempts, 2);
      assert.deepEqual(calls, ["a", "b"]);
    });
  }

  it("a client error stops at once and is passed through", async () => {
    let n = 0;
    const r = await runWithFallback([att("a"), att("b")], async () => {
      n++;
      return http(400, { error: { message: "bad field" } });
    }, deps());
    assert.equal(r.ok, false);
    assert.equal(n, 1);
    if (!r.ok) assert.equal(r.error.status, 400);
  });

  it("bounded: never more than maxAttempts upstream calls; transient failures retried on the same upstream", async () => {
    const calls: string[] = [];
    const r = await runWithFallback([att("only")], async (a) => {
      calls.push(a.providerId);
      return http(502);
    }, deps({ policy: { ...POLICY, maxAttempts: 3 } }));
    assert.equal(r.ok, false);
    assert.deepEqual(calls, ["only", "only", "only"]);
    if (!r.ok) {
      assert.equal(r.error.code, "upstream_error");
      assert.equal(r.attempts, 3);
    }
  });

  it("no retry of the same upstream after a non-transient failure (model unavailable)", async () => {
    let n = 0;
    const r = await runWithFallback([att("a")], async () => {
      n++;
      return http(404, { error: { message: "No endpoints found for m" } });
    }, deps());
    assert.equal(r.ok, false);
    assert.equal(n, 1);
  });

  it("the retry budget stops a retry storm on a dead upstream", async () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerWindow: 0, windowMs: 60_000 });
    let calls = 0;
    for (let i = 0; i < 50; i++) {
      await runWithFallback([att("dead")], async () => {
        calls++;
        return http(503);
      }, deps({ budget, policy: { ...POLICY, maxAttempts: 5 }, breakers: new LocalCircuitBreakers() }));
    }
    // 50 first attempts + at most 20 % retries — not 250.
    assert.ok(calls <= 60, `calls ${calls}`);
    assert.ok(calls >= 50);
  });

  it("stops at the overall deadline", async () => {
    let t = 0;
    const clock = { now: () => t };
    let n = 0;
    const r = await runWithFallback([att("a"), att("b"), att("c")], async () => {
      n++;
      t += 600;
      return fail("timeout_first_byte");
    }, deps({ clock, policy: { ...POLICY, deadlineMs: 1000 } }));
    assert.equal(r.ok, false);
    assert.equal(n, 2);
    if (!r.ok) assert.equal(r.error.status, 504);
  });

  it("skips an open circuit without calling it; reports outcomes to the breakers; settle() reports the stream's end", async () => {
    const breakers = new LocalCircuitBreakers({ windowMs: 10_000, buckets: 10, minRequests: 2, failureRate: 0.5, cooldownMs: 60_000, probeTimeoutMs: 60_000 });
    await breakers.record("prv:a", false, "allow");
    await breakers.record("prv:a", false, "allow");
    const calls: string[] = [];
    const r = await runWithFallback([att("a"), att("b")], async (a) => {
      calls.push(a.providerId);
      return { ok: true, value: a.providerId };
    }, deps({ breakers }));
    assert.deepEqual(calls, ["b"]);
    assert.ok(r.ok);
    assert.deepEqual(r.tries.map((t) => t.outcome), ["circuit_open", "ok"]);
    if (r.ok) {
      await r.settle(false);
      await r.settle(false); // once only
      assert.equal(breakers.snapshot("prv:b").failures, 1);
    }
  });

  it("all circuits open → 503 without an upstream call", async () => {
    const breakers = new LocalCircuitBreakers({ windowMs: 10_000, buckets: 10, minRequests: 1, failureRate: 0.5, cooldownMs: 60_000, probeTimeoutMs: 60_000 });
    await breakers.record("prv:a", false, "allow");
    const r = await runWithFallback([att("a")], async () => ({ ok: true, value: "x" }), deps({ breakers }));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.status, 503);
      assert.equal(r.attempts, 0);
    }
  });
});
