import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, describe, it } from "node:test";
import { performance } from "node:perf_hooks";
import { AppError } from "../../src/core/errors.js";
import { createRateLimiter } from "../../src/ratelimit/index.js";
import { createRedis } from "../../src/redis/index.js";
import { requireRedis } from "../helpers/redis.js";
import { auth, captureLogger, FakeClock, freePort, reqId, settings, startRedis, stop, until } from "./helpers.js";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

if (await requireRedis("rate limiter redis faults")) {
  describe("rate limiter across redis faults (own redis-server child)", () => {
    const children: ChildProcess[] = [];
    after(async () => {
      for (const c of children) await stop(c);
    });

    it("falls back to memory when redis dies, logs once, and returns to redis by itself", async () => {
      const port = await freePort();
      children.push(await startRedis(port));
      const { logger, lines } = captureLogger();
      const redis = createRedis(`redis://127.0.0.1:${port}`, logger, { commandTimeoutMs: 100, maxReconnectDelayMs: 200, probeIntervalMs: 100 });
      assert.ok(await redis.waitUntilUp(3000));
      const clock = new FakeClock();
      // Two gateway processes share this Redis: in fallback each takes half of the key's 20 rpm.
      const rl = createRateLimiter({ settings: settings({ key: { rpm: 20, tpm: 0, concurrency: 0 }, processes: 2 }), redis, logger, clock, keyPrefix: "fault:" });
      const a = auth();
      const admit = () => rl.admit({ requestId: reqId(), auth: a, model: "m", providerId: null, estimatedTokens: 0 });
      try {
        for (let i = 0; i < 5; i++) await admit();
        assert.equal(await redis.client.zcard(`fault:{rl}:k:${a.keyId}:r`), 5);
        assert.deepEqual(rl.health(), { storage: "redis", redis: "up" });

        // --- Redis killed mid-test ---
        await stop(children.pop()!);
        const lat: number[] = [];
        let ok = 0;
        let limited = 0;
        let limitSeen: unknown;
        for (let i = 0; i < 40; i++) {
          const t = performance.now();
          try {
            (await admit()).done(0);
            ok++;
          } catch (e) {
            assert.ok(e instanceof AppError && e.code === "rate_limit_exceeded", `unexpected ${String(e)}`);
            limited++;
            limitSeen = e.extra.details?.limit;
          }
          lat.push(performance.now() - t);
        }
        console.log(
          `# redis killed: 40 requests → ${ok} admitted, ${limited} limited (memory share 10); admit latency median ${median(lat).toFixed(3)} ms, max ${Math.max(...lat).toFixed(1)} ms`,
        );
        assert.equal(ok, 10, "memory fallback enforces the per-process share");
        assert.equal(limitSeen, 10);
        assert.ok(Math.max(...lat) < 1000, "a dead redis must not hold requests");
        assert.deepEqual(rl.health(), { storage: "memory", redis: "down" });
        assert.ok(rl.stats().memoryFallbackDecisions >= 40);

        // --- Redis back on the same port, empty ---
        const t0 = Date.now();
        children.push(await startRedis(port));
        const back = await until(() => rl.storage() === "redis", 5000);
        console.log(`# redis restarted: limiter back on redis after ${Date.now() - t0} ms (${back} ms after the port accepted)`);
        (await admit()).done(0);
        // The script was reloaded on the fresh server (NOSCRIPT → EVAL) and counted there.
        assert.equal(await redis.client.zcard(`fault:{rl}:k:${a.keyId}:r`), 1);
        const snap = await rl.peek(a);
        assert.equal(snap.storage, "redis");
        assert.equal(snap.key.requests?.limit, 20);

        const fell = lines.filter((l) => l.component === "ratelimit" && String(l.msg).includes("fell back to memory"));
        const backLog = lines.filter((l) => l.component === "ratelimit" && String(l.msg).includes("back on redis"));
        const redisDown = lines.filter((l) => l.component === "redis" && String(l.msg).includes("unreachable") && l.level === 40);
        assert.equal(fell.length, 1, "fallback logged once");
        assert.equal(backLog.length, 1, "return logged once");
        assert.equal(redisDown.length, 1, "redis down logged once despite many reconnect errors");
      } finally {
        rl.close();
        await redis.close();
      }
    });

    it("a hung redis (SIGSTOP) costs one command timeout, then memory; SIGCONT brings redis back", async () => {
      const port = await freePort();
      const child = await startRedis(port);
      children.push(child);
      const { logger } = captureLogger();
      const redis = createRedis(`redis://127.0.0.1:${port}`, logger, { commandTimeoutMs: 300, probeIntervalMs: 100 });
      assert.ok(await redis.waitUntilUp(3000));
      const rl = createRateLimiter({ settings: settings({ key: { rpm: 1000, tpm: 0, concurrency: 2 } }), redis, logger, keyPrefix: "hang:" });
      const a = auth();
      const admit = () => rl.admit({ requestId: reqId(), auth: a, model: "m", providerId: null, estimatedTokens: 0 });
      try {
        (await admit()).done(0);
        child.kill("SIGSTOP");
        const lat: number[] = [];
        for (let i = 0; i < 20; i++) {
          const t = performance.now();
          const adm = await admit();
          adm.done(0);
          lat.push(performance.now() - t);
        }
        console.log(
          `# redis hung: first admit ${lat[0]!.toFixed(1)} ms (command timeout 300 ms), then median ${median(lat.slice(1)).toFixed(3)} ms, max ${Math.max(...lat.slice(1)).toFixed(1)} ms`,
        );
        assert.ok(lat[0]! >= 290, "the first request waited for the command timeout");
        assert.ok(Math.max(...lat.slice(1)) < 250, "later requests skip the hung redis instead of waiting for a timeout each");
        assert.equal(rl.storage(), "memory");
        child.kill("SIGCONT");
        await until(() => rl.storage() === "redis", 5000);
        (await admit()).done(0);
      } finally {
        child.kill("SIGCONT");
        rl.close();
        await redis.close();
      }
    });

    it("a slot released while redis was unreachable is freed in redis when it returns, not at lease expiry", async () => {
      const port = await freePort();
      const child = await startRedis(port);
      children.push(child);
      const { logger } = captureLogger();
      const redis = createRedis(`redis://127.0.0.1:${port}`, logger, { commandTimeoutMs: 150, probeIntervalMs: 100 });
      assert.ok(await redis.waitUntilUp(3000));
      const rl = createRateLimiter({ settings: settings({ key: { rpm: 0, tpm: 0, concurrency: 1 }, leaseMs: 600_000 }), redis, logger, keyPrefix: "slot:" });
      const a = auth();
      const admit = () => rl.admit({ requestId: reqId(), auth: a, model: "m", providerId: null, estimatedTokens: 0 });
      const cKey = `slot:{rl}:k:${a.keyId}:c`;
      try {
        const held = await admit(); // slot taken in redis
        assert.equal(await redis.client.zcard(cKey), 1);
        child.kill("SIGSTOP");
        const during = await admit(); // times out → memory (its own, empty, per-process count)
        assert.equal(rl.storage(), "memory");
        held.done(0); // redis is down: the release waits for it
        during.done(0);
        child.kill("SIGCONT");
        await until(() => rl.storage() === "redis", 5000);
        const deadline = Date.now() + 3000;
        while ((await redis.client.zcard(cKey)) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(await redis.client.zcard(cKey), 0, "the held slot was released in redis after the outage");
        (await admit()).done(0);
      } finally {
        child.kill("SIGCONT");
        rl.close();
        await redis.close();
      }
    });

    it("admissions that timed out while redis was frozen leave no concurrency slots behind when it resumes", async () => {
      const port = await freePort();
      const child = await startRedis(port);
      children.push(child);
      const { logger } = captureLogger();
      const redis = createRedis(`redis://127.0.0.1:${port}`, logger, { commandTimeoutMs: 150, probeIntervalMs: 100 });
      assert.ok(await redis.waitUntilUp(3000));
      // Leases far longer than the test: a leaked slot would lock the key out for its whole run.
      const rl = createRateLimiter({ settings: settings({ key: { rpm: 0, tpm: 0, concurrency: 3 }, leaseMs: 600_000 }), redis, logger, keyPrefix: "frozen:" });
      const a = auth();
      const admit = () => rl.admit({ requestId: reqId(), auth: a, model: "m", providerId: null, estimatedTokens: 0 });
      const cKey = `frozen:{rl}:k:${a.keyId}:c`;
      try {
        child.kill("SIGSTOP");
        // Each admit times out (its script waits in the socket) and is decided in memory.
        const during = [];
        for (let i = 0; i < 3; i++) during.push(await admit());
        assert.equal(rl.storage(), "memory");
        for (const d of during) d.done(0);
        child.kill("SIGCONT");
        await until(() => rl.storage() === "redis", 5000);
        const deadline = Date.now() + 3000;
        while ((await redis.client.zcard(cKey)) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(await redis.client.zcard(cKey), 0, "the scripts that ran late took slots, and their releases followed them");
        // The key can use its full concurrency in redis again.
        const again = [await admit(), await admit(), await admit()];
        assert.equal(await redis.client.zcard(cKey), 3);
        for (const g of again) g.done(0);
      } finally {
        child.kill("SIGCONT");
        rl.close();
        await redis.close();
      }
    });
  });
}
