/**
 * Micro-benchmark of the router's CPU on the happy path (first route answers): what routing adds
 * per request on top of the upstream call itself. Usage:
 *   npx tsx bench/routing.ts [requests] [redisUrl|-]
 * Measures, per request: plan (routes × upstream accounts, weighted tiers, breaker peek, per-attempt
 * target with the account key) + the fallback loop (breaker acquire, retry budget, try record) +
 * the breaker outcome record. The upstream call is a resolved promise; its own cost (measured as
 * the baseline: awaiting the same stub directly) is subtracted. With a Redis URL it also runs the
 * shared-state breakers, whose per-request cost is one script call. ~10–20 s.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import type { ProviderConfig } from "../src/config/gateway-config.js";
import type { ProviderTarget } from "../src/providers/index.js";
import { toCandidates } from "../src/routing/attempt.js";
import type { ResolvedModel } from "../src/contracts/request.js";
import { LocalCircuitBreakers, type CircuitBreakers } from "../src/routing/circuit-breaker.js";
import { runWithFallback } from "../src/routing/fallback.js";
import { RoutingPlanner } from "../src/routing/planner.js";
import { RedisCircuitBreakers } from "../src/routing/redis-circuit-breaker.js";
import { DEFAULT_RETRY_POLICY, RetryBudget } from "../src/routing/retry.js";
import { seededRng } from "../src/routing/rng.js";
import { Router } from "../src/routing/router.js";
import type { LiveUpstreamAccount, RoutingSnapshot } from "../src/routing/store.js";

const N = Number(process.argv[2] ?? 200_000);
const REDIS = process.argv[3] && process.argv[3] !== "-" ? process.argv[3] : process.argv[3] === "-" ? null : "redis://127.0.0.1:6379";

// A realistic shape: 3 routes in 2 priority tiers (weights 3:1 in the first), the first provider
// with 3 upstream accounts (master accounts), timeouts per provider.
const providers: ProviderConfig[] = ["openrouter", "backup", "cheap"].map((id) => ({ id, type: "openai", base_url: `http://${id}.invalid/v1`, model_prefix: "", enabled: true }));
const targets = new Map<string, ProviderTarget>(
  providers.map((p) => [
    p.id,
    { id: p.id, type: p.type, baseUrl: p.base_url!, apiKey: "sk-config", modelPrefix: "", headers: {}, enabled: true, timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1, totalMs: 1 } },
  ]),
);
const accounts: LiveUpstreamAccount[] = [1, 2, 3].map((i) => ({ id: `ua_${i}`, providerId: "openrouter", name: `m${i}`, apiKey: `sk-or-v1-${i}`, discountBp: 7000, weight: i, balanceMicros: 10_000_000n }));
const snapshot: RoutingSnapshot = { providers: [], accountsByProvider: new Map([["openrouter", accounts]]), routesByModel: new Map(), brokenAccounts: [], loadedAt: 1 };
const price = { inputMicrosPerM: 150_000n, outputMicrosPerM: 600_000n };
const model: ResolvedModel = {
  id: "openai/gpt-4o-mini",
  requested: "gpt-4o-mini",
  routes: [
    { providerId: "openrouter", upstreamModel: "openai/gpt-4o-mini", priority: 1, weight: 3, price },
    { providerId: "cheap", upstreamModel: "gpt-4o-mini", priority: 1, weight: 1, price },
    { providerId: "backup", upstreamModel: "gpt-4o-mini", priority: 2, weight: 1, price },
  ],
  contextLength: 128_000,
  maxOutput: 16_384,
  passthrough: false,
};
const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };
const stub = Promise.resolve({ ok: true as const, value: 1 });

async function measure(label: string, breakers: CircuitBreakers | null): Promise<number> {
  const rng = seededRng(1);
  const router = breakers ? new Router({ snapshot: () => snapshot, configProviders: providers, breakers, rng }) : null;
  const planner = router ? new RoutingPlanner(router, () => targets, null) : null;
  const budget = new RetryBudget();
  const one = async () => {
    if (!planner) {
      await stub;
      return;
    }
    const attempts = planner.plan(model, body);
    // As RequestRun.execute builds them.
    const candidates = toCandidates(attempts);
    const r = await runWithFallback(candidates, () => stub, { policy: DEFAULT_RETRY_POLICY, budget, breakers: breakers!, rng });
    // As the proxy does: the outcome is reported without waiting for it to be stored.
    if (r.ok) void r.settle(true);
  };
  const warm = Math.min(20_000, N);
  for (let i = 0; i < warm; i++) await one();
  // Concurrency 16, like a loaded process; CPU time of this process only.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < N) await one();
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const perReqMs = (cpu.user + cpu.system) / 1000 / N;
  console.log(`${label.padEnd(44)} ${(perReqMs * 1000).toFixed(2).padStart(8)} µs CPU/request   (${Math.round(N / (wall / 1000))} req/s wall)`);
  return perReqMs;
}

const rounds = 3;
const results: Record<string, number[]> = { base: [], local: [], redis: [] };
let redis: Redis | null = null;
const prefix = `bench:routing:${randomBytes(4).toString("hex")}:`;
if (REDIS) {
  redis = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  try {
    await redis.connect();
  } catch {
    console.log(`# Redis not reachable at ${REDIS}: in-memory breakers only`);
    redis.disconnect();
    redis = null;
  }
}
console.log(`# ${N} requests per run, ${rounds} rounds, node ${process.version}`);
for (let i = 0; i < rounds; i++) {
  results.base!.push(await measure("baseline (upstream stub only)", null));
  results.local!.push(await measure("router + loop + in-memory breakers", new LocalCircuitBreakers()));
  if (redis) {
    const b = new RedisCircuitBreakers({ redis, prefix, syncMs: 0 });
    results.redis!.push(await measure("router + loop + Redis breakers (this process)", b));
    b.close();
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const base = med(results.base!);
console.log("");
console.log(`router extra CPU per request, in-memory breakers: ${((med(results.local!) - base) * 1000).toFixed(2)} µs (${(med(results.local!) - base).toFixed(4)} ms; target ≤ 0.02 ms)`);
if (redis) {
  console.log(`router extra CPU per request, Redis breakers:     ${((med(results.redis!) - base) * 1000).toFixed(2)} µs (${(med(results.redis!) - base).toFixed(4)} ms)`);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
}
