/**
 * Micro-benchmark of the rate limiter's cost on the request path: CPU of this process per admission
 * (+ done) with Redis and in memory. Usage: `npx tsx bench/ratelimit.ts [requests] [redisUrl]`.
 * Runs ~10 s; uses its own key prefix and deletes its keys afterwards.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { pino } from "pino";
import type { AuthContext } from "../src/contracts/request.js";
import { createRateLimiter, type RateLimiter, type RateLimitSettings } from "../src/ratelimit/index.js";
import { createRedis } from "../src/redis/index.js";
import { testAuth } from "../test/helpers/auth.js";

const N = Number(process.argv[2] ?? 20_000);
const URL_ = process.argv[3] ?? "redis://127.0.0.1:6379";
const CONCURRENCY = 16;
const logger = pino({ level: "silent" });
const prefix = `bench:rl:${randomBytes(4).toString("hex")}:`;

const settings: RateLimitSettings = {
  windowSeconds: 60,
  // Realistic set: key rpm + tpm + concurrency, account rpm, global concurrency (5 limits, 1 script call).
  key: { rpm: 1_000_000, tpm: 1_000_000_000, concurrency: 1000 },
  account: { rpm: 1_000_000, tpm: 0, concurrency: 0 },
  model: { rpm: 0, tpm: 0, concurrency: 0 },
  provider: { rpm: 0, tpm: 0, concurrency: 0 },
  global: { rpm: 0, tpm: 0, concurrency: 10_000 },
  leaseMs: 60_000,
  processes: 1,
};

function authFor(i: number): AuthContext {
  return testAuth({ keyId: `key_bench${i % 50}`, accountId: `acct_bench${i % 10}` });
}
const auths = Array.from({ length: 50 }, (_, i) => authFor(i));

async function run(label: string, rl: RateLimiter, n: number): Promise<void> {
  let next = 0;
  const lat: number[] = [];
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      const adm = await rl.admit({ requestId: `req_b${i}_${prefix}`, auth: auths[i % 50]!, model: "openai/gpt-4o-mini", providerId: null, estimatedTokens: 120 });
      lat.push(performance.now() - t);
      adm.done(150);
    }
  };
  // warm-up
  const warm = Math.min(2000, n);
  next = n - warm;
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  next = 0;
  lat.length = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await new Promise((r) => setTimeout(r, 50)); // let the last done() calls go out
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  lat.sort((a, b) => a - b);
  console.log(
    `${label}: ${n} admissions (+done) at concurrency ${CONCURRENCY}: ${(n / (wall / 1000)).toFixed(0)}/s, ` +
      `CPU ${((cpuMs / n) * 1000).toFixed(1)} µs/request (user ${(cpu.user / n).toFixed(1)}, sys ${(cpu.system / n).toFixed(1)}), ` +
      `latency p50 ${lat[Math.floor(n * 0.5)]!.toFixed(3)} ms p99 ${lat[Math.floor(n * 0.99)]!.toFixed(3)} ms`,
  );
}

// Baseline: the same loop with no limits at all (the spine's no-op), to subtract the harness.
const off = { rpm: 0, tpm: 0, concurrency: 0 };
const noop = createRateLimiter({ settings: { ...settings, key: off, account: off, global: off }, redis: null, logger });
await run("no-op ", noop, N);
noop.close();

const mem = createRateLimiter({ settings, redis: null, logger });
await run("memory", mem, N);
mem.close();

const redis = createRedis(URL_, logger);
if (!(await redis.waitUntilUp(3000))) throw new Error(`redis not reachable at ${URL_}`);
const rl = createRateLimiter({ settings, redis, logger, keyPrefix: prefix });
await run("redis ", rl, N);
const s = rl.stats();
if (s.memoryFallbackDecisions > 0 || s.redisErrors > 0) console.log("warning: redis errors during the run", s);
rl.close();
let cursor = "0";
do {
  const [nextCursor, keys] = await redis.client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
  if (keys.length) await redis.client.del(...keys);
  cursor = nextCursor;
} while (cursor !== "0");
await redis.close();
