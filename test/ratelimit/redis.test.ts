import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRateLimiter } from "../../src/ratelimit/index.js";
import { createRedis, type RedisHandle } from "../../src/redis/index.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";
import { auth, FakeClock, reqId, settings, silentLogger, testPrefix } from "./helpers.js";
import { limiterSpec, rejected } from "./spec.js";

const prefix = testPrefix();

async function dropPrefix(h: RedisHandle): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await h.client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    if (keys.length) await h.client.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

if (await requireRedis("rate limiter on redis")) {
  describe("rate limiter on redis", () => {
    let redis: RedisHandle;
    before(async () => {
      redis = createRedis(TEST_REDIS_URL, silentLogger);
      assert.ok(await redis.waitUntilUp(3000), "redis did not come up");
    });
    after(async () => {
      await dropPrefix(redis);
      await redis.close();
    });

    limiterSpec(
      async (s, clock) => {
        const rl = createRateLimiter({ settings: s, redis, logger: silentLogger, clock, keyPrefix: prefix });
        assert.equal(rl.storage(), "redis");
        return rl;
      },
      { sharedStore: true },
    );

    it("reports storage redis and redis up", () => {
      const rl = createRateLimiter({ settings: settings(), redis, logger: silentLogger, keyPrefix: prefix });
      assert.deepEqual(rl.health(), { storage: "redis", redis: "up" });
      rl.close();
    });

    it("one admission is one Redis command, whatever the number of limits", async () => {
      const rl = createRateLimiter({
        settings: settings({
          key: { rpm: 100, tpm: 100_000, concurrency: 10 },
          account: { rpm: 100, tpm: 100_000, concurrency: 10 },
          model: { rpm: 100, tpm: 0, concurrency: 0 },
          global: { rpm: 1000, tpm: 0, concurrency: 100 },
        }),
        redis,
        logger: silentLogger,
        keyPrefix: prefix,
      });
      const client = redis.client as unknown as { sendCommand: (...a: unknown[]) => unknown };
      const orig = client.sendCommand;
      const sent: string[] = [];
      client.sendCommand = function (this: unknown, ...a: unknown[]) {
        sent.push(String((a[0] as { name: string }).name));
        return orig.apply(this, a);
      };
      try {
        const adm = await rl.admit({ requestId: reqId(), auth: auth(), model: "m", providerId: null, estimatedTokens: 50 });
        assert.deepEqual(sent, ["evalsha"]);
        assert.equal(adm.headers["x-ratelimit-remaining-requests"], "99");
        assert.equal(adm.headers["x-ratelimit-remaining-tokens"], "99950");
      } finally {
        client.sendCommand = orig;
        rl.close();
      }
    });

    it("two limiter instances on separate connections (two processes) enforce one limit", async () => {
      const other = createRedis(TEST_REDIS_URL, silentLogger);
      assert.ok(await other.waitUntilUp(3000));
      const s = settings({ key: { rpm: 30, tpm: 0, concurrency: 0 } });
      const p1 = createRateLimiter({ settings: s, redis, logger: silentLogger, keyPrefix: prefix });
      const p2 = createRateLimiter({ settings: s, redis: other, logger: silentLogger, keyPrefix: prefix });
      try {
        const a = auth();
        const results = await Promise.allSettled(
          Array.from({ length: 100 }, (_, i) =>
            (i % 2 ? p1 : p2).admit({ requestId: reqId(), auth: a, model: "m", providerId: null, estimatedTokens: 0 }),
          ),
        );
        const ok = results.filter((r) => r.status === "fulfilled").length;
        console.log(`# cross-instance: 100 concurrent requests, limit 30 → admitted ${ok}`);
        assert.equal(ok, 30);
        // Concurrency slots are shared too.
        const c = settings({ key: { rpm: 0, tpm: 0, concurrency: 4 } });
        const q1 = createRateLimiter({ settings: c, redis, logger: silentLogger, keyPrefix: prefix });
        const q2 = createRateLimiter({ settings: c, redis: other, logger: silentLogger, keyPrefix: prefix });
        const b = auth();
        const held = await Promise.all([q1, q2, q1, q2].map((q) => q.admit({ requestId: reqId(), auth: b, model: "m", providerId: null, estimatedTokens: 0 })));
        await rejected(q2.admit({ requestId: reqId(), auth: b, model: "m", providerId: null, estimatedTokens: 0 }));
        held[0]!.done(0);
        await new Promise((r) => setTimeout(r, 30));
        (await q2.admit({ requestId: reqId(), auth: b, model: "m", providerId: null, estimatedTokens: 0 })).done(0);
        q1.close();
        q2.close();
      } finally {
        p1.close();
        p2.close();
        await other.close();
      }
    });

    it("keys carry the prefix, expire with the window, and concurrency leases are renewed while open", async () => {
      const clock = new FakeClock();
      clock.t = Date.now();
      const rl = createRateLimiter({
        settings: settings({ key: { rpm: 5, tpm: 100, concurrency: 2 }, leaseMs: 3000, windowSeconds: 2 }),
        redis,
        logger: silentLogger,
        clock,
        keyPrefix: prefix,
      });
      try {
        const a = auth();
        const adm = await rl.admit({ requestId: reqId(), auth: a, model: "m", providerId: null, estimatedTokens: 10 });
        const keys = (await redis.client.keys(`${prefix}{rl}:k:${a.keyId}:*`)).sort();
        assert.deepEqual(keys, [`${prefix}{rl}:k:${a.keyId}:c`, `${prefix}{rl}:k:${a.keyId}:r`, `${prefix}{rl}:k:${a.keyId}:t`, `${prefix}{rl}:k:${a.keyId}:t:sum`]);
        for (const k of keys) {
          const ttl = await redis.client.pttl(k);
          assert.ok(ttl > 0 && ttl <= 4000, `${k} ttl ${ttl}`);
        }
        // Renewal runs every lease/3 (min 1 s): move time on and wait for one tick.
        const cKey = `${prefix}{rl}:k:${a.keyId}:c`;
        const before = Number((await redis.client.zrange(cKey, "0", "0", "WITHSCORES"))[1]);
        clock.advance(2000);
        await new Promise((r) => setTimeout(r, 1200));
        const after = Number((await redis.client.zrange(cKey, "0", "0", "WITHSCORES"))[1]);
        assert.equal(after - before, 2000, "lease pushed forward with the clock");
        adm.done(10);
        await new Promise((r) => setTimeout(r, 30));
        assert.equal(await redis.client.zcard(`${prefix}{rl}:k:${a.keyId}:c`), 0);
      } finally {
        rl.close();
      }
    });
  });
}
