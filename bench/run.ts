/**
 * `npm run bench:pair [-- --quick] [-- --profile]`: direct-to-mock vs through-gateway, on this machine.
 *
 * Starts the project's mock upstream and the gateway as separate processes, creates an account and
 * a key through the admin API, then measures with a closed-loop undici load generator in this
 * process: non-stream at 1 and 32 connections (req/s, p50, p99, gateway CPU per request from
 * /proc/<pid>/stat, requests that reached the mock) and streams (added time to first token, gaps
 * between content chunks, usage chunk and [DONE] delivered, gateway CPU per stream).
 * Prints one Markdown table and writes the raw figures to bench/results/<timestamp>.json.
 * Settings: BENCH_* environment variables, documented in docs/benchmarks.md.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import type { Pool } from "undici";
import { EnvSchema } from "../src/config/env.js";
import { closedLoop, makePool, type ClosedLoopResult, type Target } from "./lib/load.js";
import { freePort, loadAvg, REPO_ROOT, spawnTsNode, treeCpuMs, waitReady, type NodeProc } from "./lib/procs.js";
import { summarizeProfile, type ProfileSummary } from "./lib/profile.js";
import { headerLines, profileTables, resultsTable, type NonStreamAgg, type StreamAgg } from "./lib/report.js";
import { cpuWindow, dist, median, range, round, Samples, type WindowCpu } from "./lib/stats.js";
import { streamBatch, type StreamSample } from "./lib/stream.js";

// ---------- settings ----------

const { values: flags } = parseArgs({
  options: { quick: { type: "boolean", default: false }, profile: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  strict: true,
});
if (flags.help) {
  console.log("npm run bench [-- --quick] [-- --profile]   (settings: BENCH_* env, see docs/benchmarks.md)");
  process.exit(0);
}
const env = process.env;
const quick = flags.quick || env.BENCH_QUICK === "1";

function num(name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) {
    console.error(`${name}=${raw}: must be a number from ${min} to ${max}`);
    process.exit(2);
  }
  return v;
}

const S = {
  durationS: num("BENCH_DURATION", quick ? 2 : 4, 0.5, 300),
  warmupS: num("BENCH_WARMUP", quick ? 1 : 2, 0, 60),
  rounds: Math.round(num("BENCH_ROUNDS", quick ? 1 : 3, 1, 20)),
  connections: (env.BENCH_CONNECTIONS ?? "1,32")
    .split(/[ ,]+/)
    .filter(Boolean)
    .map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 1 || n > 1024) {
        console.error(`BENCH_CONNECTIONS: "${x}" is not an integer from 1 to 1024`);
        process.exit(2);
      }
      return n;
    }),
  streams: Math.round(num("BENCH_STREAMS", quick ? 40 : 160, 0, 100_000)),
  streamConcurrency: Math.round(num("BENCH_STREAM_CONCURRENCY", 8, 1, 1024)),
  chunks: Math.round(num("BENCH_STREAM_CHUNKS", 20, 2, 10_000)),
  intervalMs: num("BENCH_CHUNK_INTERVAL_MS", 10, 1, 10_000),
  promptChars: Math.round(num("BENCH_PROMPT_CHARS", 1000, 1, 1_000_000)),
  limiter: env.BENCH_LIMITER === "1",
  profile: flags.profile || env.BENCH_PROFILE === "1",
  databaseUrl: env.BENCH_DATABASE_URL?.trim() || undefined,
  redisUrl: env.BENCH_REDIS_URL?.trim() || undefined,
};
if (S.connections.length === 0) S.connections.push(1, 32);

/** Per-run warm-up after the other target ran (JIT is warm; this lets the previous run's tail settle). */
const SETTLE_MS = 250;
const ADMIN_TOKEN = `bench-admin-${randomBytes(12).toString("hex")}`;
const UPSTREAM_KEY = "sk-bench-upstream-not-a-secret";
const MODEL = "gpt-4o-mini";

// ---------- helpers ----------

const T0 = performance.now();
const log = (m: string) => process.stderr.write(`[bench +${((performance.now() - T0) / 1000).toFixed(1)}s] ${m}\n`);
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

function promptText(n: number): string {
  const base = "The quick brown fox jumps over the lazy dog while the gateway meters every token it forwards. ";
  return base.repeat(Math.ceil(n / base.length)).slice(0, n);
}

async function mockRequests(mockUrl: string): Promise<number> {
  const r = await fetch(`${mockUrl}/__mock/stats`, { signal: AbortSignal.timeout(5000) });
  return ((await r.json()) as { requests: number }).requests;
}

async function adminPost(gw: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(gw + path, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  if (r.status !== 201 && r.status !== 200) throw new Error(`POST ${path}: HTTP ${r.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Every RATE_LIMIT_* requests/tokens/concurrency setting the gateway knows today (0 = no limit). */
function rateLimitEnv(on: boolean): { vars: Record<string, string>; describe: string } {
  const keys = Object.keys(EnvSchema.shape).filter((k) => /^RATE_LIMIT_.*(REQUESTS|TOKENS|CONCURRENCY)$/.test(k));
  const vars: Record<string, string> = {};
  for (const k of keys) vars[k] = "0";
  if (!on) return { vars, describe: `off (${keys.length} RATE_LIMIT_* limits set to 0)` };
  const high: Record<string, string> = { RATE_LIMIT_REQUESTS: "1000000000", RATE_LIMIT_TOKENS: "1000000000000", RATE_LIMIT_CONCURRENCY: "100000" };
  const set: string[] = [];
  for (const [k, v] of Object.entries(high)) {
    if (k in vars) {
      vars[k] = v;
      set.push(k);
    }
  }
  return { vars, describe: `on, per-key limits far above the offered load (${set.join(", ")})` };
}

/** BENCH_GW_<NAME>=value → the gateway gets NAME=value (e.g. BENCH_GW_METRICS_ENABLED=false). */
function passthroughEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith("BENCH_GW_") && v !== undefined) out[k.slice("BENCH_GW_".length)] = v;
  return out;
}

// ---------- measurement records ----------

interface NsRun {
  target: Target["label"];
  connections: number;
  round: number;
  res: Omit<ClosedLoopResult, "latencyUs">;
  latencyUs: ReturnType<Samples["summary"]>;
  cpu: WindowCpu;
  tail: Tail | null;
  mockDelta: number;
}

interface StRun {
  target: Target["label"];
  round: number;
  samples: StreamSample[];
  gapsUs: Samples;
  cpu: WindowCpu;
  tail: Tail | null;
  mockDelta: number;
}

/** Work the gateway still did after its last answer (log and settlement flushes), charged to the run. */
interface Tail {
  ms: number;
  cpuMs: number;
  /** False: still busy when the wait ran out (its backlog spills into the next run). */
  settled: boolean;
}

const QUIET_SLICE_MS = 250;
/** Two clock ticks per slice: above a timer's noise, below any real backlog. */
const QUIET_MAX_CPU_MS = 20;
const QUIET_MAX_WAIT_MS = 10_000;

/**
 * After a gateway run, wait until the gateway is idle again so that work it deferred past the
 * response (batched request-log writes, settlement queues) is charged to the requests that caused it.
 */
async function quiesce(t: Target, pid: number): Promise<Tail | null> {
  if (t.label !== "gateway") return null;
  const start = performance.now();
  const c0 = treeCpuMs(pid);
  let prev = c0;
  for (;;) {
    await new Promise((r) => setTimeout(r, QUIET_SLICE_MS));
    const now = treeCpuMs(pid);
    const waited = performance.now() - start;
    if (now - prev <= QUIET_MAX_CPU_MS || waited >= QUIET_MAX_WAIT_MS) {
      return { ms: waited, cpuMs: now - c0, settled: now - prev <= QUIET_MAX_CPU_MS };
    }
    prev = now;
  }
}

// ---------- main ----------

async function main(): Promise<number> {
  const started = new Date();
  const tStart = performance.now();
  const loadBefore = loadAvg();
  const work = mkdtempSync(join(tmpdir(), "gw-bench-"));
  const profDir = join(work, "prof");
  const pools: Pool[] = [];
  let mock: NodeProc | null = null;
  let gw: NodeProc | null = null;
  const problems: string[] = [];
  /** Monotonic µs ranges of the gateway's measured windows, to cut the CPU profile to them. */
  const gwWindows: { nonStream: Array<[number, number]>; stream: Array<[number, number]> } = { nonStream: [], stream: [] };
  try {
    // --- processes ---
    const mockPort = await freePort();
    mock = spawnTsNode(
      "mock upstream",
      "src/mock/main.ts",
      ["--port", String(mockPort), "--chunks", String(S.chunks), "--interval", String(S.intervalMs)],
      { PATH: env.PATH ?? "", HOME: env.HOME ?? "", ...(env.TMPDIR ? { TMPDIR: env.TMPDIR } : {}) },
    );
    const mockUrl = `http://127.0.0.1:${mockPort}`;
    await waitReady(mock, `${mockUrl}/health`, 60_000);
    log("mock upstream ready");

    const gwPort = await freePort();
    const configPath = join(work, "gateway.json");
    // A priced model routed to the env-configured upstream, so billing (when wired) has a price.
    writeFileSync(
      configPath,
      JSON.stringify({
        models: [
          {
            id: `bench/${MODEL}`,
            aliases: [MODEL],
            routes: [{ provider: "upstream", model: MODEL }],
            price: { input: 0.15, output: 0.6 },
            context_length: 128000,
            max_output: 16384,
          },
        ],
      }),
    );
    const rl = rateLimitEnv(S.limiter);
    const extra = passthroughEnv();
    const gwEnv: Record<string, string> = {
      PATH: env.PATH ?? "",
      HOME: env.HOME ?? "",
      ...(env.TMPDIR ? { TMPDIR: env.TMPDIR } : {}),
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(gwPort),
      LOG_LEVEL: "warn",
      ADMIN_TOKEN,
      DATA_DIR: join(work, "data"),
      UPSTREAM_BASE_URL: `${mockUrl}/v1`,
      UPSTREAM_API_KEY: UPSTREAM_KEY,
      GATEWAY_CONFIG: configPath,
      ...rl.vars,
      ...(S.databaseUrl ? { DATABASE_URL: S.databaseUrl } : {}),
      ...(S.redisUrl ? { REDIS_URL: S.redisUrl } : {}),
      ...extra,
    };
    const nodeFlags = S.profile ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "--cpu-prof-interval", "500"] : [];
    log(`starting gateway (${S.databaseUrl ? "PostgreSQL" : "PGlite in a temp DATA_DIR"}${S.profile ? ", --cpu-prof" : ""})`);
    gw = spawnTsNode("gateway", "src/main/server.ts", [], gwEnv, nodeFlags);
    const gwUrl = `http://127.0.0.1:${gwPort}`;
    await waitReady(gw, `${gwUrl}/health`, 120_000);
    log("gateway ready");
    const health = (await (await fetch(`${gwUrl}/health`)).json()) as { components?: Record<string, { status?: string; kind?: string }> };
    const comps = health.components ?? {};
    const database = `${comps.database?.kind ?? "unknown"}${S.databaseUrl ? "" : " (fresh temp DATA_DIR)"}`;
    // Redis shows up in /health either as its own component or as a `redis` field of one that uses it.
    const redisSeen = comps.redis?.status ?? Object.values(comps).map((c) => (c as { redis?: unknown }).redis).find((x) => typeof x === "string");
    const redis = S.redisUrl ? `${redact(S.redisUrl)} (/health: ${redisSeen ?? "no redis status"})` : "not configured";

    // --- account and key ---
    const account = await adminPost(gwUrl, "/admin/accounts", { name: "bench", initial_balance: "1000000000" });
    const key = await adminPost(gwUrl, "/v1/key/generate", { account_id: account.id, name: "bench" });
    const apiKey = String(key.key);

    // --- targets and bodies ---
    const direct: Target = { label: "direct", origin: mockUrl, path: "/v1/chat/completions", headers: { authorization: `Bearer ${UPSTREAM_KEY}`, "content-type": "application/json" } };
    const gateway: Target = { label: "gateway", origin: gwUrl, path: "/v1/chat/completions", headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" } };
    const messages = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: promptText(S.promptChars) },
    ];
    const nsBody = Buffer.from(JSON.stringify({ model: MODEL, messages, max_tokens: 256 }));
    const stBody = Buffer.from(JSON.stringify({ model: MODEL, messages, max_tokens: 256, stream: true, stream_options: { include_usage: true } }));

    // --- preflight: each target answers 200 with usage, and the gateway's answer came from the mock ---
    let limiterSeen = false;
    for (const t of [direct, gateway]) {
      const before = await mockRequests(mockUrl);
      const r = await fetch(t.origin + t.path, { method: "POST", headers: t.headers, body: nsBody, signal: AbortSignal.timeout(30_000) });
      const text = await r.text();
      const after = await mockRequests(mockUrl);
      if (r.status !== 200 || !text.includes('"usage"') || after - before !== 1) {
        throw new Error(`preflight ${t.label}: HTTP ${r.status}, mock saw ${after - before} request(s): ${text.slice(0, 500)}`);
      }
      if (t.label === "gateway") for (const [k] of r.headers) if (k.startsWith("x-ratelimit-")) limiterSeen = true;
    }
    const limiter = `${rl.describe}${S.limiter ? (limiterSeen ? "; x-ratelimit-* headers seen" : "; no x-ratelimit-* headers seen (limiter not wired?)") : ""}`;

    // --- non-stream ---
    const nsRuns: NsRun[] = [];
    const pids = { gateway: gw.pid, mock: mock.pid };
    for (const c of S.connections) {
      const pd = makePool(direct.origin, c);
      const pg = makePool(gateway.origin, c);
      pools.push(pd, pg);
      const poolOf = (t: Target) => (t.label === "direct" ? pd : pg);
      log(`non-stream, ${c} connection(s): warm-up ${S.warmupS}s per target, then ${S.rounds} × ${S.durationS}s per target`);
      for (const t of [direct, gateway]) await closedLoop(poolOf(t), t, nsBody, c, S.warmupS * 1000, false);
      for (let round = 1; round <= S.rounds; round++) {
        const order = round % 2 === 1 ? [direct, gateway] : [gateway, direct];
        for (const t of order) {
          await closedLoop(poolOf(t), t, nsBody, c, SETTLE_MS, false);
          const m0 = await mockRequests(mockUrl);
          const w0 = monoUs();
          const close = cpuWindow(pids);
          const res = await closedLoop(poolOf(t), t, nsBody, c, S.durationS * 1000, true);
          const tail = await quiesce(t, gw.pid);
          const cpu = close();
          if (t.label === "gateway") gwWindows.nonStream.push([w0, monoUs()]);
          const mockDelta = (await mockRequests(mockUrl)) - m0;
          const { latencyUs, ...rest } = res;
          nsRuns.push({ target: t.label, connections: c, round, res: rest, latencyUs: latencyUs.summary(), cpu, tail, mockDelta });
          log(
            `  ${t.label.padEnd(7)} c=${c} r${round}: ${res.rps.toFixed(0)} req/s, p50 ${((latencyUs.summary().p50 ?? 0) / 1000).toFixed(3)} ms, ` +
              `gw CPU ${t.label === "gateway" && res.ok ? (cpu.procs.gateway! / res.ok).toFixed(3) : "–"} ms/req, foreign ${cpu.foreignPct.toFixed(0)} %`,
          );
        }
      }
    }

    // --- streams ---
    const stRuns: StRun[] = [];
    if (S.streams > 0) {
      const pd = makePool(direct.origin, S.streamConcurrency);
      const pg = makePool(gateway.origin, S.streamConcurrency);
      pools.push(pd, pg);
      const poolOf = (t: Target) => (t.label === "direct" ? pd : pg);
      const perRound = Math.max(1, Math.ceil(S.streams / S.rounds));
      log(`streams: ${S.chunks} chunks every ${S.intervalMs} ms, ${S.rounds} × ${perRound} per target at concurrency ${S.streamConcurrency}`);
      for (const t of [direct, gateway]) await streamBatch(poolOf(t), t, stBody, Math.min(2 * S.streamConcurrency, 32), S.streamConcurrency);
      for (let round = 1; round <= S.rounds; round++) {
        const order = round % 2 === 1 ? [direct, gateway] : [gateway, direct];
        for (const t of order) {
          const m0 = await mockRequests(mockUrl);
          const w0 = monoUs();
          const close = cpuWindow(pids);
          const b = await streamBatch(poolOf(t), t, stBody, perRound, S.streamConcurrency);
          const tail = await quiesce(t, gw.pid);
          const cpu = close();
          if (t.label === "gateway") gwWindows.stream.push([w0, monoUs()]);
          const mockDelta = (await mockRequests(mockUrl)) - m0;
          stRuns.push({ target: t.label, round, samples: b.samples, gapsUs: b.gapsUs, cpu, tail, mockDelta });
        }
      }
    }

    // --- stop (the profile is written when the gateway exits) ---
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    pools.length = 0;
    const gwCode = await gw.stop(20_000);
    if (gwCode !== 0) problems.push(`gateway exited with code ${gwCode} on SIGTERM`);
    await mock.stop(5_000);

    // --- aggregate ---
    const nsAgg: NonStreamAgg[] = [];
    for (const c of S.connections) {
      for (const label of ["direct", "gateway"] as const) {
        const runs = nsRuns.filter((r) => r.target === label && r.connections === c);
        const ok = runs.reduce((s, r) => s + r.res.ok, 0);
        const perReq = (k: "gateway" | "mock") => runs.map((r) => (r.res.ok ? r.cpu.procs[k]! / r.res.ok : null));
        const a: NonStreamAgg = {
          target: label,
          connections: c,
          rounds: runs.length,
          rps: median(runs.map((r) => r.res.rps)),
          p50Ms: median(runs.map((r) => (r.latencyUs.p50 ?? NaN) / 1000)),
          p99Ms: median(runs.map((r) => (r.latencyUs.p99 ?? NaN) / 1000)),
          gwCpuMsPerReq: label === "gateway" ? median(perReq("gateway")) : null,
          deferredCpuPct: label === "gateway" ? median(runs.map((r) => (r.tail && r.cpu.procs.gateway ? (100 * r.tail.cpuMs) / r.cpu.procs.gateway! : null))) : null,
          mockCpuMsPerReq: median(perReq("mock")),
          loadgenCpuMsPerReq: median(runs.map((r) => (r.res.ok ? r.cpu.loadgenMs / r.res.ok : null))),
          reachedMock: ok ? runs.reduce((s, r) => s + r.mockDelta, 0) / ok : null,
          ok,
          non2xx: runs.reduce((s, r) => s + r.res.non2xx, 0),
          errors: runs.reduce((s, r) => s + r.res.errors, 0),
          missingUsage: runs.reduce((s, r) => s + r.res.missingUsage, 0),
          ranges: {
            rps: range(runs.map((r) => r.res.rps)),
            p50Ms: range(runs.map((r) => (r.latencyUs.p50 ?? NaN) / 1000)),
            gwCpuMsPerReq: label === "gateway" ? range(perReq("gateway")) : null,
          },
          firstProblem: runs.find((r) => r.res.firstProblem)?.res.firstProblem ?? null,
        };
        nsAgg.push(a);
        if (a.non2xx + a.errors > 0) problems.push(`${label} c=${c}: ${a.non2xx} non-2xx, ${a.errors} errors (first: ${a.firstProblem})`);
        const unsettled = runs.filter((r) => r.tail && !r.tail.settled).length;
        if (unsettled) problems.push(`${label} c=${c}: the gateway was still busy ${QUIET_MAX_WAIT_MS / 1000} s after ${unsettled} run(s) ended (backlog spilled into the next run)`);
        if (a.missingUsage > 0) problems.push(`${label} c=${c}: ${a.missingUsage} answers without usage`);
        if (a.reachedMock !== null && Math.abs(a.reachedMock - 1) >= 0.005) problems.push(`${label} c=${c}: reached mock ${a.reachedMock.toFixed(3)} (expected 1.000)`);
      }
    }

    let stAgg: StreamAgg[] | null = null;
    if (stRuns.length) {
      stAgg = [];
      for (const label of ["direct", "gateway"] as const) {
        const runs = stRuns.filter((r) => r.target === label);
        const all = runs.flatMap((r) => r.samples);
        const ok = all.filter((s) => s.ok);
        const gaps = new Samples();
        for (const r of runs) gaps.addAll(r.gapsUs);
        const gapSorted = gaps.sorted();
        let clumped = 0;
        for (let i = 0; i < gapSorted.length; i++) if (gapSorted[i]! < (S.intervalMs * 1000) / 4) clumped++;
        const ms = (xs: Array<number | null | undefined>) => dist(Float64Array.from(xs.filter((x): x is number => typeof x === "number")).sort());
        const usMs = (d: ReturnType<typeof dist>) => ({
          n: d.n,
          mean: d.mean === null ? null : d.mean / 1000,
          p50: d.p50 === null ? null : d.p50 / 1000,
          p90: d.p90 === null ? null : d.p90 / 1000,
          p99: d.p99 === null ? null : d.p99 / 1000,
          p999: d.p999 === null ? null : d.p999 / 1000,
          max: d.max === null ? null : d.max / 1000,
        });
        const gwCpu = runs.reduce((s, r) => s + r.cpu.procs.gateway!, 0);
        const a: StreamAgg = {
          target: label,
          streams: ok.length,
          failed: all.length - ok.length,
          ttfbMs: ms(ok.map((s) => s.ttfbMs)),
          ttftMs: ms(ok.map((s) => s.ttftMs)),
          gapMs: usMs(dist(gapSorted)),
          clumpedPct: gapSorted.length ? (100 * clumped) / gapSorted.length : null,
          spanMs: ms(ok.map((s) => s.spanMs)),
          contentChunksMedian: median(ok.map((s) => s.contentChunks)),
          usagePct: ok.length ? (100 * ok.filter((s) => s.usage).length) / ok.length : null,
          donePct: ok.length ? (100 * ok.filter((s) => s.done).length) / ok.length : null,
          gwCpuMsPerStream: label === "gateway" && ok.length ? gwCpu / ok.length : null,
          reachedMock: ok.length ? runs.reduce((s, r) => s + r.mockDelta, 0) / ok.length : null,
          firstProblem: all.find((s) => !s.ok)?.problem ?? null,
        };
        stAgg.push(a);
        if (a.failed) problems.push(`${label} streams: ${a.failed} failed (first: ${a.firstProblem})`);
        if (a.usagePct !== 100 || a.donePct !== 100) problems.push(`${label} streams: usage delivered ${a.usagePct} %, [DONE] ${a.donePct} %`);
        if (a.contentChunksMedian !== S.chunks) problems.push(`${label} streams: median ${a.contentChunksMedian} content chunks, expected ${S.chunks}`);
      }
    }

    // --- profile ---
    let profile: ProfileSummary | null = null;
    let streamProfile: ProfileSummary | null = null;
    let profileError: string | null = null;
    if (S.profile) {
      try {
        const files = readdirSync(profDir).filter((x) => x.endsWith(".cpuprofile"));
        const gwPid = gw.pid;
        const mine = files.filter((x) => x.includes(`.${gwPid}.`));
        const pick = (mine.length ? mine : files).sort((a, b) => statSync(join(profDir, b)).size - statSync(join(profDir, a)).size)[0];
        if (!pick) throw new Error("the gateway wrote no .cpuprofile (did it exit cleanly on SIGTERM?)");
        const resultsDir = join(REPO_ROOT, "bench", "results");
        mkdirSync(resultsDir, { recursive: true });
        const kept = join(resultsDir, `${stamp(started)}.cpuprofile`);
        copyFileSync(join(profDir, pick), kept);
        const rel = kept.slice(REPO_ROOT.length);
        profile = { ...summarizeProfile(kept, gwWindows.nonStream, 15), file: rel };
        if (gwWindows.stream.length) streamProfile = { ...summarizeProfile(kept, gwWindows.stream, 8), file: rel };
      } catch (e) {
        profileError = (e as Error).message;
      }
    }

    // --- report ---
    const windows = [...nsRuns.map((r) => r.cpu), ...stRuns.map((r) => r.cpu)];
    const header = {
      when: started.toISOString().replace(/\.\d+Z$/, "Z"),
      cores: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? "unknown",
      node: process.version,
      database,
      redis,
      limiter,
      metrics: extra.METRICS_ENABLED === "false" ? "off" : "on (default)",
      loadBefore,
      loadAfter: loadAvg(),
      foreignMedianPct: median(windows.map((w) => w.foreignPct)),
      foreignMaxPct: range(windows.map((w) => w.foreignPct))?.[1] ?? null,
      gatewayIdleCpuMsPerS: median(nsRuns.filter((r) => r.target === "direct").map((r) => (1000 * r.cpu.procs.gateway!) / r.cpu.wallMs)),
      mode: quick ? "--quick" : "full",
      source: gitDescribe(),
      shape: `non-stream answers at once (${S.chunks}-word completion); streams: role chunk, ${S.chunks} content chunks every ${S.intervalMs} ms, finish chunk, usage chunk, [DONE]`,
      load: `closed loop, undici Pool in the bench process; ${S.rounds} round(s) × ${S.durationS} s per target and concurrency after ${S.warmupS} s warm-up (medians over rounds, target order alternating); request body ${nsBody.length} B; ${S.streams > 0 ? `${stRuns.reduce((s, r) => s + r.samples.length, 0) / 2} streams per target at concurrency ${S.streamConcurrency}` : "streams off"}`,
      profiled: S.profile,
    };
    const table = resultsTable(nsAgg, stAgg, S.intervalMs, { addedP50Ms: 0.5, cpuMsPerReq: 0.3 });
    const out = [
      headerLines(header),
      "",
      table,
      "",
      "Δ = gateway − direct; p50/p99 are medians over rounds of each run's percentiles; CPU from /proc/<pid>/stat (utime+stime, all threads) over the measured window ÷ completed requests; " +
        "\"reached mock\" = requests the mock counted ÷ requests completed. At many connections both paths share 2 cores with the load generator, so compare CPU per request there, not req/s.",
    ];
    if (profile) out.push("", profileTables(profile, "non-stream", streamProfile));
    else if (profileError) out.push("", `Profile: ${profileError}`);
    if (problems.length) out.push("", "**Problems:**", ...problems.map((p) => `- ${p}`));
    console.log(out.join("\n"));

    const resultsDir = join(REPO_ROOT, "bench", "results");
    mkdirSync(resultsDir, { recursive: true });
    const jsonPath = join(resultsDir, `${stamp(started)}.json`);
    const roundAll = (o: unknown): unknown =>
      typeof o === "number" ? round(o, 4) : Array.isArray(o) ? o.map(roundAll) : o && typeof o === "object" ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, roundAll(v)])) : o;
    writeFileSync(
      jsonPath,
      JSON.stringify(
        roundAll({
          header,
          settings: { ...S, databaseUrl: redact(S.databaseUrl), redisUrl: redact(S.redisUrl) },
          gatewayEnv: Object.fromEntries(
            Object.entries(gwEnv)
              .filter(([k]) => !["PATH", "HOME", "TMPDIR"].includes(k))
              .map(([k, v]) => [k, /_URL$/.test(k) ? redact(v) : /SECRET|PASSWORD|API_KEY|_TOKEN$|ENCRYPTION_KEY/.test(k) ? "***" : v]),
          ),
          nonStream: nsAgg,
          stream: stAgg,
          runs: { nonStream: nsRuns, stream: stRuns.map(({ gapsUs, samples, ...r }) => ({ ...r, gapsUs: gapsUs.summary(), samples })) },
          profile,
          streamProfile,
          profileWindowsUs: gwWindows,
          problems,
          totalSeconds: (performance.now() - tStart) / 1000,
        }),
        null,
        1,
      ),
    );
    log(`raw results: ${jsonPath.slice(REPO_ROOT.length)} (total ${((performance.now() - tStart) / 1000).toFixed(0)} s)`);
    return problems.length ? 1 : 0;
  } finally {
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
    if (gw && !gw.exited()) await gw.stop(5_000);
    if (mock && !mock.exited()) await mock.stop(5_000);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Commit and uncommitted changes under src/, so a figure can be tied to the code it measured. */
function gitDescribe(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .split("\n")
      .filter(Boolean).length;
    return dirty ? `${head} + ${dirty} uncommitted file(s) in src/` : head;
  } catch {
    return "unknown (not a git checkout)";
  }
}

/** Credentials out of a URL before it is printed or saved. */
function redact(url: string | undefined): string | undefined {
  return url?.replace(/\/\/[^@/]*@/, "//***@");
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, "-");
}

process.on("SIGINT", () => process.exit(130));
main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[bench] failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
