import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { keyInvalidationBus, type KeyInvalidationFilter } from "../../src/keys/index.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";

test("without Redis a key change invalidates this process only", () => {
  const seen: KeyInvalidationFilter[] = [];
  const bus = keyInvalidationBus({ redis: null, channel: "x", apply: (f) => seen.push(f) });
  bus.publish({ keyId: "k1" });
  assert.deepEqual(seen, [{ keyId: "k1" }]);
});

if (await requireRedis("key invalidation across processes")) {
  test("with Redis a key change reaches the other processes' caches once, and the publisher's once", async () => {
    const channel = `test:keys:${randomBytes(4).toString("hex")}`;
    const ra = new Redis(TEST_REDIS_URL);
    const rb = new Redis(TEST_REDIS_URL);
    const a: KeyInvalidationFilter[] = [];
    const b: KeyInvalidationFilter[] = [];
    const busA = keyInvalidationBus({ redis: ra, channel, apply: (f) => a.push(f) });
    const busB = keyInvalidationBus({ redis: rb, channel, apply: (f) => b.push(f) });
    try {
      // Until both subscribers are in, a publish may be lost (the TTL covers that); wait for them.
      for (let i = 0; i < 100 && Number(((await ra.pubsub("NUMSUB", channel)) as [string, number])[1]) < 2; i++) await new Promise((r) => setTimeout(r, 50));
      busA.publish({ accountId: "acc-1" });
      busB.publish(undefined);
      for (let i = 0; i < 100 && (a.length < 2 || b.length < 2); i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(a, [{ accountId: "acc-1" }, undefined]);
      assert.equal(b.length, 2);
      assert.ok(b.some((f) => f?.accountId === "acc-1"));
      assert.ok(b.some((f) => f === undefined));
    } finally {
      await busA.close();
      await busB.close();
      ra.disconnect();
      rb.disconnect();
    }
  });
}
