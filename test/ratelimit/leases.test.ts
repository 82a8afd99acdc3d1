import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AdmitInput } from "../../src/contracts/request.js";
import { createRateLimiter, type RateLimiter } from "../../src/ratelimit/index.js";
import { createRedis, type RedisHandle } from "../../src/redis/index.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";
import { auth, reqId, settings, silentLogger, testPrefix } from "./helpers.js";
import { rejected } from "./spec.js";

const prefix = testPrefix();
const tick = () => new Promise((r) => setTimeout(r, 250));

function input(a: ReturnType<typeof auth>, estimatedTokens = 0): AdmitInput {
  return { requestId: reqId(), auth: a, model: "m", providerId: null, estimatedTokens };
}

/** Counts the commands a limiter sends on this connection. */
function countCommands(h: RedisHandle): { sent: string[]; restore: () => void } {
  const client = h.client as unknown as { sendCommand: (...a: unknown[]) => unknown };
  const orig = client.sendCommand;
  const sent: string[] = [];
  client.sendCommand = function (this: unknown, ...a: unknown[]) {
    sent.push(String((a[0] as { name: string }).name));
    return orig.apply(this, a);
  };
  return { sent, restore: () => (client.sendCommand = orig) };
}

if (await requireRedis("rate limits on leases")) {
  describe("rate limits decided against leased shares", () => {
    let redis: RedisHandle;
    let other: RedisHandle;
    const open: RateLimiter[] = [];
    const make = (s: ReturnType<typeof settings>, h: RedisHandle = redis) => {
      const rl = createRateLimiter({ settings: s, redis: h, logger: silentLogger, keyPrefix: prefix });
      open.push(rl);
      return rl;
    };
    before(async () => {
      redis = createRedis(TEST_REDIS_URL, silentLogger);
      other = createRedis(TEST_REDIS_URL, silentLogger);
      assert.ok(await redis.waitUntilUp(3000));
      assert.ok(await other.waitUntilUp(3000));
    });
    after(async () => {
      for (const rl of open) rl.close();
      await tick();
      let cursor = "0";
      do {
        const [next, keys] = await redis.client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
        if (keys.length) await redis.client.del(...keys);
        cursor = next;
      } while (cursor !== "0");
      await redis.close();
      await other.close();
    });

    it("large limits cost a few Redis calls per second, not one per request", async () => {
      const rl = make(settings({ key: { rpm: 1_000_000, tpm: 100_000_000, concurrency: 100_000 } }));
      const a = auth();
      const c = countCommands(redis);
      try {
        for (let i = 0; i < 500; i++) {
          const adm = await rl.admit(input(a, 300));
          if (i === 0) {
            assert.equal(adm.headers["x-ratelimit-limit-requests"], "1000000");
            assert.equal(adm.headers["x-ratelimit-remaining-requests"], "999999");
            assert.equal(adm.headers["x-ratelimit-remaining-tokens"], String(100_000_000 - 300));
          }
          adm.done(100);
        }
      } finally {
        c.restore();
      }
      console.log(`# 500 admissions on leases → ${c.sent.length} redis commands`);
      assert.ok(c.sent.length <= 15, `sent ${c.sent.length}: ${c.sent.join(",")}`);
      await tick();
      // After a tick Redis holds what was really used: 500 requests, 500 × 100 tokens (the corrected usage).
      const snap = await rl.peek(a);
      assert.ok(snap.key.requests!.current >= 500 && snap.key.requests!.current <= 500 + 10_000, `requests ${snap.key.requests!.current}`);
      assert.ok(snap.key.tokens!.current >= 50_000 && snap.key.tokens!.current <= 50_000 + 1_000_000, `tokens ${snap.key.tokens!.current}`);
    });

    it("two processes never admit more than the limit together, and leave at most one share each unused", async () => {
      const s = settings({ key: { rpm: 2000, tpm: 0, concurrency: 0 } });
      const p1 = make(s);
      const p2 = make(s, other);
      const a = auth();
      const results = await Promise.allSettled(Array.from({ length: 3000 }, (_, i) => (i % 2 ? p1 : p2).admit(input(a))));
      const ok = results.filter((r) => r.status === "fulfilled").length;
      console.log(`# two processes, limit 2000 per window, 3000 at once → admitted ${ok}`);
      assert.ok(ok <= 2000, `admitted ${ok}`);
      assert.ok(ok >= 2000 - 2 * 20, `admitted ${ok}`);
      const refusal = results.find((r) => r.status === "rejected");
      assert.ok(refusal && refusal.status === "rejected");
      const e = await rejected(Promise.reject(refusal.reason as Error));
      assert.equal(e.extra.details?.limit_source, "key_rpm");
      assert.equal(e.extra.details?.limit, 2000);
      // A decision taken in Redis (a small account limit beside makes it exact) counts the leases as taken.
      const exact = make(settings({ key: { rpm: 2000, tpm: 0, concurrency: 0 }, account: { rpm: 5, tpm: 0, concurrency: 0 } }));
      const e2 = await rejected(exact.admit(input(a)));
      assert.equal(e2.extra.details?.limit_source, "key_rpm");
    });

    it("concurrency slots: a block per process; freed slots serve this process at once and the others within a tick", async () => {
      const s = settings({ key: { rpm: 0, tpm: 0, concurrency: 1000 } });
      const p1 = make(s);
      const p2 = make(s, other);
      const a = auth();
      const burst = await Promise.allSettled(Array.from({ length: 1200 }, (_, i) => (i % 2 ? p1 : p2).admit(input(a))));
      const held = burst.flatMap((r, i) => (r.status === "fulfilled" ? [{ adm: r.value, p: i % 2 ? p1 : p2 }] : []));
      console.log(`# two processes, 1000 concurrent slots, 1200 at once → admitted ${held.length}`);
      assert.ok(held.length <= 1000 && held.length >= 1000 - 2 * 10, `admitted ${held.length}`);
      // p1 frees its slots: p1 reuses one at once; within a tick p1's block shrinks and p2 gets the rest.
      const freed = held.filter((h) => h.p === p1);
      for (const h of freed) h.adm.done(0);
      (await p1.admit(input(a))).done(0);
      await tick();
      const more = [];
      for (let i = 0; i < freed.length + 50; i++) {
        try {
          more.push(await p2.admit(input(a)));
        } catch {
          break;
        }
      }
      const openNow = held.length - freed.length + more.length;
      assert.ok(openNow <= 1000 && more.length >= freed.length - 2 * 10, `p2 took ${more.length} of ${freed.length} freed`);
      await rejected(p2.admit(input(a)));
      for (const h of held) h.adm.done(0);
      for (const m of more) m.done(0);
      await tick();
      await tick();
      assert.equal((await p1.peek(a)).key.concurrency?.current, 0, "blocks are given back once idle");
    });

    it("a token estimate corrected by done() is what Redis counts after the tick", async () => {
      const rl = make(settings({ key: { rpm: 0, tpm: 100_000, concurrency: 0 } }));
      const a = auth();
      for (let i = 0; i < 10; i++) (await rl.admit(input(a, 200))).done(2000);
      await tick();
      await tick();
      assert.equal((await rl.peek(a)).key.tokens?.current, 20_000);
      // The budget really is used: 80,000 more fit (400 × 200), then the key is refused.
      let admitted = 0;
      for (let i = 0; i < 500; i++) {
        try {
          (await rl.admit(input(a, 200))).done(200);
          admitted++;
        } catch {
          break;
        }
      }
      assert.ok(admitted >= 395 && admitted <= 400, `admitted ${admitted}`);
    });
  });
}
