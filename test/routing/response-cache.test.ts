import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import {
  cacheDecision,
  canonicalJson,
  MemoryResponseCache,
  RedisResponseCache,
  responseCacheKey,
  scaleByBp,
  type CachedResponse,
} from "../../src/routing/response-cache.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";

const resp = (body: string): CachedResponse => ({
  status: 200,
  body,
  contentType: "application/json",
  usage: { promptTokens: 3, completionTokens: 5, totalTokens: 8 },
  providerId: "p",
  upstreamModel: "m",
  storedAt: 1,
});

describe("response cache: keys and eligibility", () => {
  it("key ignores object key order, separates accounts, endpoints and bodies", () => {
    const a = { model: "m", messages: [{ role: "user", content: "hi" }], temperature: 0 };
    const b = { temperature: 0, messages: [{ content: "hi", role: "user" }], model: "m" };
    assert.equal(canonicalJson(a), canonicalJson(b));
    assert.equal(responseCacheKey("chat.completions", a, "acct_1"), responseCacheKey("chat.completions", b, "acct_1"));
    assert.notEqual(responseCacheKey("chat.completions", a, "acct_1"), responseCacheKey("chat.completions", a, "acct_2"));
    assert.notEqual(responseCacheKey("chat.completions", a, "acct_1"), responseCacheKey("completions", a, "acct_1"));
    assert.notEqual(responseCacheKey("chat.completions", a, "acct_1"), responseCacheKey("chat.completions", { ...a, temperature: 0.1 }, "acct_1"));
  });

  it("opt-in rules: header any temperature, key option only at temperature 0, never streams", () => {
    const d = (body: Record<string, unknown>, header?: string, cache?: boolean, endpoint = "chat.completions") =>
      cacheDecision({ endpoint, body, header, keyOptions: cache === undefined ? {} : { cache } });
    assert.equal(d({ temperature: 0.7 }, "true").use, true);
    assert.equal(d({ temperature: 0 }, undefined, true).use, true);
    assert.equal(d({ temperature: 0.7 }, undefined, true).use, false);
    assert.equal(d({}, undefined, true).use, false, "no temperature = provider default, not deterministic");
    assert.equal(d({ input: "x" }, undefined, true, "embeddings").use, true);
    assert.equal(d({ temperature: 0 }).use, false, "not requested");
    assert.equal(d({ temperature: 0 }, "false", true).use, false, "header opts out");
    assert.equal(d({ temperature: 0, stream: true }, "true", true).use, false);
    assert.equal(d({ temperature: 0 }, "true", true, "passthrough").use, false);
  });

  it("hit price as a fraction in basis points, rounded up", () => {
    assert.equal(scaleByBp(1000n, 0), 0n);
    assert.equal(scaleByBp(1000n, 10_000), 1000n);
    assert.equal(scaleByBp(1001n, 5000), 501n);
  });
});

describe("response cache: memory LRU", () => {
  it("bounded by entries (least recently used goes first)", async () => {
    const c = new MemoryResponseCache({ ttlMs: 1000, maxEntries: 2, maxBytes: 1e9, maxEntryBytes: 1e6 });
    await c.set("a", resp("A"));
    await c.set("b", resp("B"));
    assert.ok(await c.get("a")); // a is now most recent
    await c.set("c", resp("C"));
    assert.equal(await c.get("b"), null);
    assert.equal((await c.get("a"))?.body, "A");
    assert.equal((await c.get("c"))?.body, "C");
  });

  it("bounded by bytes and per-entry size; expires after the TTL", async () => {
    let t = 0;
    const c = new MemoryResponseCache({ ttlMs: 1000, maxEntries: 100, maxBytes: 2 * (1000 + 256), maxEntryBytes: 5000 }, { now: () => t });
    await c.set("big", resp("x".repeat(6000)));
    assert.equal(await c.get("big"), null);
    await c.set("1", resp("x".repeat(1000)));
    await c.set("2", resp("x".repeat(1000)));
    await c.set("3", resp("x".repeat(1000)));
    assert.equal(c.size, 2);
    assert.ok(c.totalBytes <= 2 * 1256);
    assert.equal(await c.get("1"), null);
    t = 999;
    assert.ok(await c.get("3"));
    t = 1000;
    assert.equal(await c.get("3"), null);
  });
});

describe("response cache: Redis", async () => {
  if (!(await requireRedis("response cache"))) return;
  const redis = new Redis(TEST_REDIS_URL);
  const prefix = `test:rc:${randomBytes(6).toString("hex")}:`;
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it("round-trips with a TTL; oversize entries are not stored", async () => {
    const c = new RedisResponseCache(redis, prefix, { ttlMs: 60_000, maxEntries: 0, maxBytes: 0, maxEntryBytes: 1000 });
    await c.set("k", resp("hello"));
    assert.equal((await c.get("k"))?.body, "hello");
    const ttl = await redis.pttl(`${prefix}rc:k`);
    assert.ok(ttl > 50_000 && ttl <= 60_000);
    await c.set("big", resp("x".repeat(2000)));
    assert.equal(await c.get("big"), null);
  });

  it("a Redis error is a miss, not a failure", async () => {
    const dead = new Redis("redis://127.0.0.1:1", { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on("error", () => undefined);
    let errors = 0;
    const c = new RedisResponseCache(dead, prefix, undefined, { onError: () => errors++ });
    await c.set("k", resp("x"));
    assert.equal(await c.get("k"), null);
    assert.equal(errors, 2);
    dead.disconnect();
  });
});
