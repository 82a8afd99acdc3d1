import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { LocalCircuitBreakers, type BreakerOptions, type CircuitBreakers } from "../../src/routing/circuit-breaker.js";
import { RedisCircuitBreakers } from "../../src/routing/redis-circuit-breaker.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";

const OPTS: BreakerOptions = { windowMs: 10_000, buckets: 10, minRequests: 10, failureRate: 0.5, cooldownMs: 5_000, probeTimeoutMs: 20_000 };

class FakeClock {
  t = 1_700_000_000_000;
  now = () => this.t;
}

async function feed(b: CircuitBreakers, key: string, ok: number, fail: number) {
  for (let i = 0; i < ok; i++) await b.record(key, true, await b.acquire(key));
  for (let i = 0; i < fail; i++) await b.record(key, false, await b.acquire(key));
}

/** The behaviour every implementation must have. */
function contract(make: (clock: FakeClock) => Promise<CircuitBreakers> | CircuitBreakers) {
  it("one error does not open; failures below the minimum request count do not open", async () => {
    const c = new FakeClock();
    const b = await make(c);
    await feed(b, "k", 0, 1);
    assert.equal(b.snapshot("k").state, "closed");
    await feed(b, "k", 0, 8); // 9 failures, 9 requests < minRequests 10
    assert.equal(b.snapshot("k").state, "closed");
    assert.equal(await b.acquire("k"), "allow");
    b.close();
  });

  it("a failure rate below the threshold keeps it closed", async () => {
    const c = new FakeClock();
    const b = await make(c);
    await feed(b, "k", 12, 11); // 11/23 < 50 %
    assert.equal(b.snapshot("k").state, "closed");
    b.close();
  });

  it("opens at the threshold, denies during the cool-down, then lets exactly one probe through", async () => {
    const c = new FakeClock();
    const b = await make(c);
    await feed(b, "k", 5, 5); // 5/10 = 50 %
    assert.equal(b.snapshot("k").state, "open");
    assert.equal(b.peek("k").available, false);
    assert.equal(await b.acquire("k"), "deny");
    c.t += 4_999;
    assert.equal(await b.acquire("k"), "deny");
    c.t += 1;
    assert.equal(b.peek("k").available, true);
    assert.equal(await b.acquire("k"), "probe");
    assert.equal(await b.acquire("k"), "deny", "a second concurrent probe is refused");
    assert.equal(b.snapshot("k").state, "half_open");
    await b.record("k", true, "probe");
    assert.equal(b.snapshot("k").state, "closed");
    assert.equal(await b.acquire("k"), "allow");
    // The window was cleared: one new failure does not re-open it.
    await feed(b, "k", 0, 1);
    assert.equal(b.snapshot("k").state, "closed");
    b.close();
  });

  it("a failed probe re-opens for a new cool-down; outcomes of older requests are ignored while open", async () => {
    const c = new FakeClock();
    const b = await make(c);
    await feed(b, "k", 0, 10);
    assert.equal(b.snapshot("k").state, "open");
    await b.record("k", true, "allow"); // in flight before it opened
    assert.equal(b.snapshot("k").state, "open");
    c.t += 5_000;
    assert.equal(await b.acquire("k"), "probe");
    await b.record("k", false, "probe");
    assert.equal(b.snapshot("k").state, "open");
    assert.equal(await b.acquire("k"), "deny");
    c.t += 5_000;
    assert.equal(await b.acquire("k"), "probe");
    b.close();
  });

  it("a lost probe releases its lease after the probe timeout", async () => {
    const c = new FakeClock();
    const b = await make(c);
    await feed(b, "k", 0, 10);
    c.t += 5_000;
    assert.equal(await b.acquire("k"), "probe");
    c.t += 19_999;
    assert.equal(await b.acquire("k"), "deny");
    c.t += 1;
    assert.equal(await b.acquire("k"), "probe");
    b.close();
  });

  it("failures older than the window no longer count", async () => {
    const c = new FakeClock();
    const b = await make(c);
    await feed(b, "k", 0, 9);
    c.t += 11_000;
    await feed(b, "k", 5, 1); // old 9 failures dropped: 1/6
    assert.equal(b.snapshot("k").state, "closed");
    assert.equal(b.snapshot("k").requests, 6);
    b.close();
  });

  it("keys are independent", async () => {
    const c = new FakeClock();
    const b = await make(c);
    await feed(b, "a", 0, 10);
    assert.equal(b.snapshot("a").state, "open");
    assert.equal(b.snapshot("b").state, "closed");
    assert.equal(await b.acquire("b"), "allow");
    b.close();
  });
}

describe("circuit breakers (in memory)", () => {
  contract((c) => new LocalCircuitBreakers(OPTS, c));
});

describe("circuit breakers (Redis)", async () => {
  if (!(await requireRedis("circuit breakers"))) return;
  const redis = new Redis(TEST_REDIS_URL);
  const prefix = `test:routing:${randomBytes(6).toString("hex")}:`;
  let n = 0;
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  contract((c) => new RedisCircuitBreakers({ redis, prefix: `${prefix}${n++}:`, options: OPTS, clock: c, syncMs: 0, flushMs: 10 }));

  it("all processes agree: B sees A's open circuit, and only one of them gets the probe", async () => {
    const c = new FakeClock();
    const p = `${prefix}shared:`;
    const a = new RedisCircuitBreakers({ redis, prefix: p, options: OPTS, clock: c, syncMs: 0 });
    const b = new RedisCircuitBreakers({ redis, prefix: p, options: OPTS, clock: c, syncMs: 0 });
    await feed(a, "ua:1", 0, 10);
    assert.equal(a.snapshot("ua:1").state, "open");
    assert.equal(b.peek("ua:1").available, true, "B has not synced yet");
    await b.sync();
    assert.equal(b.snapshot("ua:1").state, "open");
    assert.equal(b.snapshot("ua:1").source, "redis");
    assert.equal(b.peek("ua:1").available, false);
    c.t += 5_000;
    const [ra, rb] = await Promise.all([a.acquire("ua:1"), b.acquire("ua:1")]);
    assert.deepEqual([ra, rb].sort(), ["deny", "probe"]);
    const prober = ra === "probe" ? a : b;
    const other = ra === "probe" ? b : a;
    await prober.record("ua:1", true, "probe");
    await other.sync();
    assert.equal(other.snapshot("ua:1").state, "closed");
    assert.equal(await other.acquire("ua:1"), "allow");
    a.close();
    b.close();
  });

  it("a process learns the shared state from its own next recorded outcome (no sync needed)", async () => {
    const c = new FakeClock();
    const p = `${prefix}learn:`;
    const a = new RedisCircuitBreakers({ redis, prefix: p, options: OPTS, clock: c, syncMs: 0 });
    const b = new RedisCircuitBreakers({ redis, prefix: p, options: OPTS, clock: c, syncMs: 0 });
    await feed(a, "k", 0, 6);
    await feed(b, "k", 0, 4); // B's own 4 failures alone would not open; the shared window does
    assert.equal(b.snapshot("k").state, "open");
    assert.equal(b.local.snapshot("k").state, "open", "the local fallback adopted the shared state");
    a.close();
    b.close();
  });

  it("successes are batched: many outcomes reach the shared window in one flush", async () => {
    const c = new FakeClock();
    const b = new RedisCircuitBreakers({ redis, prefix: `${prefix}batch:`, options: OPTS, clock: c, syncMs: 0, flushMs: 60_000 });
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 25; i++) waits.push(b.record("k", true, "allow"));
    const hash = `${prefix}batch:cb:{k}`;
    assert.equal(await redis.exists(hash), 0, "nothing sent yet");
    // A failure flushes everything pending on the next tick.
    waits.push(b.record("k", false, "allow"));
    await Promise.all(waits);
    const h = await redis.hgetall(hash);
    const total = Object.entries(h).filter(([f]) => /^t\d+$/.test(f)).reduce((x, [, v]) => x + Number(v), 0);
    assert.equal(total, 26, "one flush carried all 26 outcomes");
    assert.equal(b.snapshot("k").requests, 26);
    assert.equal(b.snapshot("k").failures, 1);
    b.close();
  });

  it("Redis errors fall back to this process's own state, never fail a request", async () => {
    const dead = new Redis("redis://127.0.0.1:1", { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on("error", () => undefined);
    const c = new FakeClock();
    const errors: unknown[] = [];
    const b = new RedisCircuitBreakers({ redis: dead, prefix: "x:", options: OPTS, clock: c, syncMs: 0, onError: (e) => errors.push(e) });
    await feed(b, "k", 0, 10);
    assert.ok(errors.length > 0);
    assert.equal(b.redisHealthy, false);
    assert.equal(b.snapshot("k").state, "open");
    assert.equal(b.snapshot("k").source, "local");
    assert.equal(await b.acquire("k"), "deny");
    c.t += 5_000;
    assert.equal(await b.acquire("k"), "probe");
    b.close();
    dead.disconnect();
  });
});
