/**
 * `npm run bench [-- --quick]`: the gateway against a bare Node proxy, side by side in one run.
 *
 * Targets (all against one mock upstream process): `direct` (the mock itself), `baseline`
 * (bench/baseline-proxy.ts: key check, JSON parse, pooled undici forward, usage read), `gw-pglite`
 * (the embedded default) and `gw-pg` (PostgreSQL in a throw-away database + a private Redis, the
 * rate limiter on with limits far above the load). Scenarios: non-stream at several connection
 * counts, streams, streams cut after their first chunk with big prompts (small requests beside),
 * many slow streams open at once (RSS per stream), and WORKERS=2 against 1 on PostgreSQL + Redis.
 * Every figure is reported as a ratio to the baseline measured in the same round, and each target of
 * the performance goals is printed as met or missed. Settings: BENCH_* (docs/benchmarks.md).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import type { Pool } from "undici";
import { closedLoop, makePool, type Target } from "./lib/load.js";
import { startPgCounter, type PgCounter } from "./lib/pg-counter.js";
import { freePort, hostCpuMs, loadAvg, REPO_ROOT, selfCpuMs, spawnTsNode, treeCpuMs, waitReady, type NodeProc } from "./lib/procs.js";
import { cutStreams, slowStreams, treeRssKb, type CutResult, type SlowResult } from "./lib/scenarios.js";
import { median } from "./lib/stats.js";
import { streamBatch } from "./lib/stream.js";
import { explainMiss, monoUs, profileFlags, scenarioProfiles, type MeasuredWindow, type ScenarioProfile } from "./lib/suite-profiles.js";

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
const list = (name: string, def: string) => (env[name] ?? def).split(/[ ,]+/).filter(Boolean);
const num = (name: string, def: number) => (env[name] ? Number(env[name]) : def);
/** Two sockets per proxied stream (client + upstream) must fit under the open-files limit. */
const fdLimit = (() => {
  try {
    return Number(execFileSync("bash", ["-c", "ulimit -n"]).toString().trim()) || 1024;
  } catch {
    return 1024;
  }
})();
const S = {
  targets: list("BENCH_TARGETS", "direct,baseline,gw-pglite,gw-pg"),
  scenarios: list("BENCH_SCENARIOS", "nonstream,stream,cut,slow,workers"),
  durationS: num("BENCH_DURATION", quick ? 2 : 4),
  warmupS: num("BENCH_WARMUP", quick ? 1 : 2),
  rounds: num("BENCH_ROUNDS", quick ? 1 : 3),
  connections: list("BENCH_CONNECTIONS", "1,8,16,64").map(Number),
  streams: num("BENCH_STREAMS", quick ? 24 : 96),
  streamConcurrency: num("BENCH_STREAM_CONCURRENCY", 8),
  chunks: num("BENCH_STREAM_CHUNKS", 24),
  intervalMs: num("BENCH_CHUNK_INTERVAL_MS", 10),
  promptChars: num("BENCH_PROMPT_CHARS", 1000),
  cutPrompts: list("BENCH_CUT_PROMPTS", "1000,32000,256000").map(Number),
  cutStreams: num("BENCH_CUT_STREAMS", quick ? 6 : 20),
  slowStreams: Math.min(num("BENCH_SLOW_STREAMS", quick ? 1000 : 10_000), Math.floor((fdLimit - 100) / 2)),
  slowRequested: num("BENCH_SLOW_STREAMS", quick ? 1000 : 10_000),
  pgAdmin: env.BENCH_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  /** Profile the gateways (--cpu-prof) and explain every missed target with the profile of its measured windows. */
  profile: flags.profile || env.BENCH_PROFILE === "1",
  /** Another checkout whose gateway is measured instead of this one (a before/after of a change); its node_modules must resolve. */
  gatewayDir: env.BENCH_GATEWAY_DIR || REPO_ROOT,
};
const ADMIN_TOKEN = `bench-admin-${randomBytes(12).toString("hex")}`;
const UPSTREAM_KEY = "sk-bench-upstream-not-a-secret";
const BASELINE_KEY = `sk-baseline-${randomBytes(8).toString("hex")}`;
const MODEL = "gpt-4o-mini";
const T0 = performance.now();
const log = (m: string) => process.stderr.write(`[bench +${((performance.now() - T0) / 1000).toFixed(1)}s] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Name = "direct" | "baseline" | "gw-pglite" | "gw-pg" | "gw-pg-w2";
interface Tgt {
  name: Name;
  origin: string;
  headers: Record<string, string>;
  /** The process tree charged as "target CPU" (null: direct, whose CPU is the mock's). */
  proc: NodeProc | null;
  /** PostgreSQL + Redis of this target, charged separately. */
  db?: { name: string; counter: PgCounter; redisPid: number; redisPort: number };
}

function promptText(n: number): string {
  const base = "The quick brown fox jumps over the lazy dog while the gateway meters every token it forwards. ";
  return base.repeat(Math.ceil(n / base.length)).slice(0, n);
}
const bodyOf = (promptChars: number, extra: Record<string, unknown>) =>
  Buffer.from(JSON.stringify({ model: MODEL, messages: [{ role: "system", content: "You are a helpful assistant." }, { role: "user", content: promptText(promptChars) }], max_tokens: 256, ...extra }));

function psql(url: string, sql: string): string {
  return execFileSync("psql", [url, "-Atqc", sql], { stdio: ["ignore", "pipe", "pipe"] }).toString().trim();
}

/** PostgreSQL backends serving the bench database (their CPU is charged to the gateway on PostgreSQL). */
function backendPids(db: string): number[] {
  try {
    return psql(S.pgAdmin, `select pid from pg_stat_activity where datname = '${db}' and pid <> pg_backend_pid()`)
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function redisCommands(port: number): number {
  try {
    const out = execFileSync("redis-cli", ["-p", String(port), "info", "stats"]).toString();
    return Number(/total_commands_processed:(\d+)/.exec(out)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU of a target over a window: its process tree, and (PostgreSQL mode) its database backends and Redis. */
function openWindow(t: Tgt, mockPid: number) {
  const pgPids = t.db ? backendPids(t.db.name) : [];
  const sum = (pids: number[]) => pids.reduce((s, p) => s + treeCpuMs(p), 0);
  const c0 = { target: t.proc ? treeCpuMs(t.proc.pid) : 0, pg: sum(pgPids), redis: t.db ? treeCpuMs(t.db.redisPid) : 0, mock: treeCpuMs(mockPid), self: selfCpuMs(), host: hostCpuMs() };
  const trips0 = t.db?.counter.roundTrips() ?? 0;
  const cmds0 = t.db ? redisCommands(t.db.redisPort) : 0;
  const w0 = performance.now();
  const m0 = monoUs();
  return () => {
    const wall = performance.now() - w0;
    const mono: [number, number] = [m0, monoUs()];
    const target = (t.proc ? treeCpuMs(t.proc.pid) : 0) - c0.target;
    const pg = sum(pgPids) - c0.pg;
    const redis = t.db ? treeCpuMs(t.db.redisPid) - c0.redis : 0;
    const mock = treeCpuMs(mockPid) - c0.mock;
    const self = selfCpuMs() - c0.self;
    const host = hostCpuMs().busy - c0.host.busy;
    return {
      wall,
      target,
      pg,
      redis,
      trips: (t.db?.counter.roundTrips() ?? 0) - trips0,
      redisCmds: t.db ? redisCommands(t.db.redisPort) - cmds0 - 2 : 0,
      mono,
      foreignPct: Math.max(0, (100 * (host - target - pg - redis - mock - self)) / wall),
    };
  };
}
type Win = ReturnType<ReturnType<typeof openWindow>>;

/** Wait until the target is idle again so deferred work (log/settle batches) is charged to the run. */
async function quiesce(t: Tgt): Promise<void> {
  if (!t.proc) return;
  let prev = treeCpuMs(t.proc.pid);
  const start = performance.now();
  for (;;) {
    await sleep(250);
    const now = treeCpuMs(t.proc.pid);
    if (now - prev <= 20 || performance.now() - start > 10_000) return;
    prev = now;
  }
}

/**
 * Stops the profiled gateways (V8 writes the profile at exit), keeps each main-thread profile in
 * bench/results/ and summarizes it per scenario from that target's measured windows.
 */
async function collectProfiles(targets: Tgt[], profDir: string, r: { ns: NsRec[]; st: StRec[]; cuts: CutRec[]; slow: SlowRec[] }, started: Date): Promise<Map<Name, Map<string, ScenarioProfile>>> {
  const out = new Map<Name, Map<string, ScenarioProfile>>();
  const resultsDir = join(REPO_ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  for (const t of targets) {
    if (!t.proc || !t.name.startsWith("gw-")) continue;
    await t.proc.stop(30_000);
    const windows: MeasuredWindow[] = [
      ...r.ns.filter((x) => x.target === t.name).map((x) => ({ scenario: `ns:${x.conns}`, range: x.win.mono, ops: x.ok })),
      ...r.st.filter((x) => x.target === t.name).map((x) => ({ scenario: "stream", range: x.win.mono, ops: x.ok })),
      ...r.cuts.filter((x) => x.target === t.name).map((x) => ({ scenario: `cut:${x.prompt}`, range: x.win.mono, ops: x.res.cut })),
      ...r.slow.filter((x) => x.target === t.name).map((x) => ({ scenario: "slow", range: x.win.mono, ops: x.res.flowing })),
    ];
    const found = scenarioProfiles(profDir, t.name, t.proc.pid, windows);
    out.set(t.name, found);
    const any = [...found.values()][0];
    if (any) {
      const kept = join(resultsDir, `suite-${started.toISOString().replace(/[:.]/g, "-")}-${t.name}.cpuprofile`);
      copyFileSync(any.summary.file, kept);
      log(`profile of ${t.name}: ${kept.slice(REPO_ROOT.length)}`);
    } else log(`no usable profile from ${t.name} (did it exit cleanly on SIGTERM?)`);
  }
  return out;
}

async function adminPost(origin: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(origin + path, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  if (r.status !== 201 && r.status !== 200) throw new Error(`POST ${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

// ---------- records ----------
interface NsRec {
  target: Name;
  conns: number;
  round: number;
  ok: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  win: Win;
}
interface StRec {
  target: Name;
  round: number;
  ok: number;
  failed: number;
  ttftP50Ms: number | null;
  win: Win;
}
interface CutRec {
  target: Name;
  prompt: number;
  res: CutResult;
  win: Win;
}
interface SlowRec {
  target: Name;
  res: SlowResult;
  win: Win;
}

async function main(): Promise<number> {
  const started = new Date();
  const work = mkdtempSync(join(tmpdir(), "gw-suite-"));
  const procs: NodeProc[] = [];
  const extra: { redis: ChildProcess | null; counter: PgCounter | null; dbName: string | null } = { redis: null, counter: null, dbName: null };
  const pools: Pool[] = [];
  const problems: string[] = [];
  const baseEnv = { PATH: env.PATH ?? "", HOME: env.HOME ?? "", ...(env.TMPDIR ? { TMPDIR: env.TMPDIR } : {}) };
  const profDir = join(work, "prof");
  try {
    // --- mock ---
    const mockPort = await freePort();
    const mock = spawnTsNode("mock", "src/mock/main.ts", ["--port", String(mockPort), "--chunks", String(S.chunks), "--interval", String(S.intervalMs)], baseEnv);
    procs.push(mock);
    const mockUrl = `http://127.0.0.1:${mockPort}`;
    await waitReady(mock, `${mockUrl}/health`, 60_000);

    const configPath = join(work, "gateway.json");
    writeFileSync(
      configPath,
      JSON.stringify({ models: [{ id: `bench/${MODEL}`, aliases: [MODEL], routes: [{ provider: "upstream", model: MODEL }], price: { input: 0.15, output: 0.6 }, context_length: 1_000_000, max_output: 16384 }] }),
    );
    const gwEnv = (port: number, dataDir: string): Record<string, string> => ({
      ...baseEnv,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "warn",
      ADMIN_TOKEN,
      DATA_DIR: dataDir,
      UPSTREAM_BASE_URL: `${mockUrl}/v1`,
      UPSTREAM_API_KEY: UPSTREAM_KEY,
      GATEWAY_CONFIG: configPath,
      // The limiter runs on every request and never rejects (the full path, not the limiter's verdicts).
      RATE_LIMIT_REQUESTS: "1000000000",
      RATE_LIMIT_TOKENS: "1000000000000",
      RATE_LIMIT_CONCURRENCY: "1000000",
      ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("BENCH_GW_")).map(([k, v]) => [k.slice(9), v ?? ""])),
    });

    const targets: Tgt[] = [];
    if (S.targets.includes("direct")) targets.push({ name: "direct", origin: mockUrl, headers: { authorization: `Bearer ${UPSTREAM_KEY}`, "content-type": "application/json" }, proc: null });
    if (S.targets.includes("baseline")) {
      const port = await freePort();
      const p = spawnTsNode("baseline", "bench/baseline-proxy.ts", [], { ...baseEnv, BASELINE_PORT: String(port), BASELINE_UPSTREAM: `${mockUrl}/v1`, BASELINE_KEY, BASELINE_UPSTREAM_KEY: UPSTREAM_KEY });
      procs.push(p);
      await waitReady(p, `http://127.0.0.1:${port}/health`, 60_000);
      targets.push({ name: "baseline", origin: `http://127.0.0.1:${port}`, headers: { authorization: `Bearer ${BASELINE_KEY}`, "content-type": "application/json" }, proc: p });
    }
    const startGateway = async (name: Name, envExtra: Record<string, string>): Promise<Tgt> => {
      const port = await freePort();
      // BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=…" profiles the gateways (NODE_OPTIONS refuses --cpu-prof).
      const flags = (env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
      if (S.profile && name !== "gw-pg-w2") flags.push(...profileFlags(profDir, name));
      const p = spawnTsNode(name, "src/main/server.ts", [], { ...gwEnv(port, join(work, `data-${name}`)), ...envExtra }, flags, S.gatewayDir);
      procs.push(p);
      await waitReady(p, `http://127.0.0.1:${port}/health`, 180_000);
      return { name, origin: `http://127.0.0.1:${port}`, headers: {}, proc: p };
    };
    const keyFor = async (t: Tgt) => {
      const account = await adminPost(t.origin, "/admin/accounts", { name: `bench-${t.name}`, initial_balance: "100000000000" });
      const key = await adminPost(t.origin, "/v1/key/generate", { account_id: account.id, name: "bench" });
      t.headers = { authorization: `Bearer ${String(key.key)}`, "content-type": "application/json" };
    };
    if (S.targets.includes("gw-pglite")) {
      log("starting the gateway on PGlite");
      const t = await startGateway("gw-pglite", {});
      await keyFor(t);
      targets.push(t);
    }
    let pgEnv: Record<string, string> | null = null;
    if (S.targets.includes("gw-pg")) {
      const dbName = `gw_bench_${randomBytes(4).toString("hex")}`;
      psql(S.pgAdmin, `create database ${dbName}`);
      extra.dbName = dbName;
      const pgUrl = new URL(S.pgAdmin);
      const counter = await startPgCounter(pgUrl.hostname, Number(pgUrl.port || 5432));
      extra.counter = counter;
      const redisPort = await freePort();
      const redis = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
      extra.redis = redis;
      for (let i = 0; i < 50 && redisCommands(redisPort) === 0; i++) await sleep(100);
      const dbUrl = new URL(S.pgAdmin);
      dbUrl.port = String(counter.port);
      dbUrl.pathname = `/${dbName}`;
      pgEnv = { DATABASE_URL: dbUrl.toString(), REDIS_URL: `redis://127.0.0.1:${redisPort}` };
      log(`starting the gateway on PostgreSQL (${dbName}, through the round-trip counter) + Redis :${redisPort}`);
      const t = await startGateway("gw-pg", pgEnv);
      t.db = { name: dbName, counter, redisPid: redis.pid!, redisPort };
      await keyFor(t);
      targets.push(t);
    }
    const byName = (n: Name) => targets.find((t) => t.name === n);

    // --- preflight ---
    const nsBody = bodyOf(S.promptChars, {});
    for (const t of targets) {
      const r = await fetch(t.origin + "/v1/chat/completions", { method: "POST", headers: t.headers, body: nsBody, signal: AbortSignal.timeout(30_000) });
      const text = await r.text();
      if (r.status !== 200 || !text.includes('"usage"')) throw new Error(`preflight ${t.name}: HTTP ${r.status}: ${text.slice(0, 300)}`);
    }
    log(`targets ready: ${targets.map((t) => t.name).join(", ")}`);
    const order = (round: number) => {
      const xs = [...targets];
      for (let i = 0; i < round % xs.length; i++) xs.push(xs.shift()!);
      return xs;
    };

    // --- non-stream ---
    const ns: NsRec[] = [];
    if (S.scenarios.includes("nonstream")) {
      for (const c of S.connections) {
        const poolOf = new Map(targets.map((t) => [t.name, makePool(t.origin, c)]));
        pools.push(...poolOf.values());
        const target = (t: Tgt): Target => ({ label: t.name === "direct" ? "direct" : "gateway", origin: t.origin, path: "/v1/chat/completions", headers: t.headers });
        for (const t of targets) await closedLoop(poolOf.get(t.name)!, target(t), nsBody, c, S.warmupS * 1000, false);
        for (let round = 0; round < S.rounds; round++) {
          for (const t of order(round)) {
            await closedLoop(poolOf.get(t.name)!, target(t), nsBody, c, 250, false);
            await quiesce(t);
            const close = openWindow(t, mock.pid);
            const res = await closedLoop(poolOf.get(t.name)!, target(t), nsBody, c, S.durationS * 1000, true);
            await quiesce(t);
            const win = close();
            const l = res.latencyUs.summary();
            ns.push({ target: t.name, conns: c, round, ok: res.ok, errors: res.errors + res.non2xx, rps: res.rps, p50Ms: (l.p50 ?? NaN) / 1000, p99Ms: (l.p99 ?? NaN) / 1000, win });
            if (res.errors + res.non2xx) problems.push(`${t.name} c=${c}: ${res.errors + res.non2xx} failed (${res.firstProblem})`);
            log(`  ${t.name.padEnd(9)} c=${c} r${round + 1}: ${res.rps.toFixed(0)} req/s, p50 ${((l.p50 ?? 0) / 1000).toFixed(3)} ms, CPU ${res.ok ? (win.target / res.ok).toFixed(3) : "–"} ms/req${t.db ? ` + PG ${(win.pg / res.ok).toFixed(3)} + Redis ${(win.redis / res.ok).toFixed(3)}, ${(win.trips / res.ok).toFixed(2)} SQL trips/req` : ""}`);
          }
        }
      }
    }

    // --- streams ---
    const st: StRec[] = [];
    if (S.scenarios.includes("stream")) {
      const stBody = bodyOf(S.promptChars, { stream: true, stream_options: { include_usage: true } });
      const poolOf = new Map(targets.map((t) => [t.name, makePool(t.origin, S.streamConcurrency)]));
      pools.push(...poolOf.values());
      const target = (t: Tgt): Target => ({ label: t.name === "direct" ? "direct" : "gateway", origin: t.origin, path: "/v1/chat/completions", headers: t.headers });
      for (const t of targets) await streamBatch(poolOf.get(t.name)!, target(t), stBody, 16, S.streamConcurrency);
      const per = Math.max(1, Math.ceil(S.streams / S.rounds));
      for (let round = 0; round < S.rounds; round++) {
        for (const t of order(round)) {
          await quiesce(t);
          const close = openWindow(t, mock.pid);
          const b = await streamBatch(poolOf.get(t.name)!, target(t), stBody, per, S.streamConcurrency);
          await quiesce(t);
          const win = close();
          const ok = b.samples.filter((s) => s.ok && s.usage && s.done);
          st.push({ target: t.name, round, ok: ok.length, failed: b.samples.length - ok.length, ttftP50Ms: median(ok.map((s) => s.ttftMs)), win });
          if (b.samples.length !== ok.length) problems.push(`${t.name} streams: ${b.samples.length - ok.length} failed or without usage/[DONE]; first: ${JSON.stringify(b.samples.find((s) => !(s.ok && s.usage && s.done)))}`);
          log(`  ${t.name.padEnd(9)} streams r${round + 1}: ${ok.length} ok, CPU ${ok.length ? (win.target / ok.length).toFixed(2) : "–"} ms/stream`);
        }
      }
    }

    // --- cut streams with big prompts ---
    const cuts: CutRec[] = [];
    if (S.scenarios.includes("cut")) {
      const probe = bodyOf(100, { max_tokens: 16 });
      for (const prompt of S.cutPrompts) {
        const body = bodyOf(prompt, { stream: true, mock: { chunks: 200, interval_ms: 10 } });
        for (const t of targets.filter((x) => x.name !== "direct")) {
          await quiesce(t);
          const close = openWindow(t, mock.pid);
          const res = await cutStreams(t.origin, "/v1/chat/completions", t.headers, body, probe, S.cutStreams, 2, 20);
          await quiesce(t);
          const win = close();
          cuts.push({ target: t.name, prompt, res, win });
          if (res.failed) problems.push(`${t.name} cut streams (${prompt} chars): ${res.failed} failed (${res.firstProblem})`);
          log(`  ${t.name.padEnd(9)} cut, ${prompt} chars: CPU ${res.cut ? (win.target / res.cut).toFixed(1) : "–"} ms/stream, probe max ${res.probeMaxMs?.toFixed(1)} ms`);
        }
      }
    }

    // --- many slow streams ---
    const slow: SlowRec[] = [];
    if (S.scenarios.includes("slow")) {
      const body = bodyOf(200, { stream: true, mock: { chunks: 2, interval_ms: 900_000 } });
      for (const t of targets.filter((x) => x.name !== "direct")) {
        await quiesce(t);
        const close = openWindow(t, mock.pid);
        log(`  ${t.name.padEnd(9)} opening ${S.slowStreams} slow streams`);
        const res = await slowStreams(t.origin, "/v1/chat/completions", t.headers, body, S.slowStreams, quick ? 60_000 : 180_000, () => treeRssKb(t.proc!.pid));
        await quiesce(t);
        const win = close();
        slow.push({ target: t.name, res, win });
        log(`  ${t.name.padEnd(9)} slow: ${res.flowing}/${res.requested} flowing in ${res.openSeconds.toFixed(1)} s, RSS ${(res.rssIdleKb / 1024).toFixed(0)} → ${(res.rssOpenKb / 1024).toFixed(0)} → ${(res.rssAfterKb / 1024).toFixed(0)} MiB`);
      }
    }

    // --- WORKERS=2 against 1 on PostgreSQL + Redis ---
    const workers: NsRec[] = [];
    const pgT = byName("gw-pg");
    if (S.scenarios.includes("workers") && pgT && pgEnv) {
      log("starting the gateway on PostgreSQL with WORKERS=2");
      const w2 = await startGateway("gw-pg-w2", { ...pgEnv, WORKERS: "2" });
      w2.db = pgT.db;
      w2.headers = pgT.headers;
      const c = 64;
      const pair = [pgT, w2];
      const poolOf = new Map(pair.map((t) => [t.name, makePool(t.origin, c)]));
      pools.push(...poolOf.values());
      const target = (t: Tgt): Target => ({ label: "gateway", origin: t.origin, path: "/v1/chat/completions", headers: t.headers });
      for (const t of pair) await closedLoop(poolOf.get(t.name)!, target(t), nsBody, c, S.warmupS * 1000, false);
      for (let round = 0; round < S.rounds; round++) {
        for (const t of round % 2 ? [w2, pgT] : pair) {
          await quiesce(t);
          const close = openWindow(t, mock.pid);
          const res = await closedLoop(poolOf.get(t.name)!, target(t), nsBody, c, S.durationS * 1000, true);
          await quiesce(t);
          const win = close();
          const l = res.latencyUs.summary();
          workers.push({ target: t.name, conns: c, round, ok: res.ok, errors: res.errors + res.non2xx, rps: res.rps, p50Ms: (l.p50 ?? NaN) / 1000, p99Ms: (l.p99 ?? NaN) / 1000, win });
          log(`  ${t.name.padEnd(9)} c=${c}: ${res.rps.toFixed(0)} req/s, CPU ${(win.target / Math.max(1, res.ok)).toFixed(3)} ms/req + PG ${(win.pg / Math.max(1, res.ok)).toFixed(3)}`);
        }
      }
    }

    const profiles = S.profile ? await collectProfiles(targets, profDir, { ns, st, cuts, slow }, started) : new Map<Name, Map<string, ScenarioProfile>>();
    const report = render({ ns, st, cuts, slow, workers, started, problems, profiles });
    console.log(report);
    const dir = join(REPO_ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `suite-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, JSON.stringify({ settings: S, ns, st, cuts, slow, workers, problems }, null, 1));
    writeFileSync(file.replace(/\.json$/, ".md"), report + "\n");
    log(`raw results: ${file.slice(REPO_ROOT.length)} (total ${((performance.now() - T0) / 1000).toFixed(0)} s)`);
    return problems.length ? 1 : 0;
  } finally {
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
    for (const p of procs.reverse()) if (!p.exited()) await p.stop(15_000);
    if (extra.redis && extra.redis.exitCode === null) extra.redis.kill("SIGTERM");
    await extra.counter?.close();
    if (extra.dbName) {
      try {
        psql(S.pgAdmin, `drop database if exists ${extra.dbName} with (force)`);
      } catch (e) {
        log(`could not drop ${extra.dbName}: ${(e as Error).message}`);
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------- report ----------
const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
const mark = (ok: boolean | null) => (ok === null ? "–" : ok ? "met" : "**missed**");

function render(r: { ns: NsRec[]; st: StRec[]; cuts: CutRec[]; slow: SlowRec[]; workers: NsRec[]; started: Date; problems: string[]; profiles: Map<Name, Map<string, ScenarioProfile>> }): string {
  const out: string[] = [];
  /** [target, measured, verdict, the profile that explains a miss: gateway and scenario]. */
  const goals: Array<[string, string, boolean | null, [Name, string]?]> = [];
  out.push(
    `## Gateway vs bare proxy (${quick ? "--quick" : "full"}), ${r.started.toISOString().slice(0, 19)}Z, code ${gitHead()}`,
    "",
    `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, load average now ${loadAvg()}; ${S.rounds} round(s) × ${S.durationS} s per target, medians over rounds, ratios per round to the baseline of the same round.`,
    "",
  );
  // Ratios per round to the baseline of the same round, then the median.
  const nsFor = (t: Name, c: number) => r.ns.filter((x) => x.target === t && x.conns === c);
  const perReq = (x: NsRec, k: "target" | "pg" | "redis" | "trips") => (x.ok ? x.win[k] / x.ok : NaN);
  const ratioMed = (t: Name, c: number, val: (x: NsRec) => number) =>
    median(nsFor(t, c).map((x) => {
      const b = r.ns.find((y) => y.target === "baseline" && y.conns === c && y.round === x.round);
      return b ? val(x) / perReq(b, "target") : NaN;
    }));
  if (r.ns.length) {
    out.push("### Non-stream chat (1 KB prompt)", "", "| target | conns | req/s | p50 ms | added p50 ms | CPU ms/req | × baseline | + PG ms/req | + Redis ms/req | all CPU × baseline | SQL round trips/req | Redis cmds/req | other tenants' CPU % |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const c of S.connections) {
      const d = median(nsFor("direct", c).map((x) => x.p50Ms));
      for (const t of ["direct", "baseline", "gw-pglite", "gw-pg"] as Name[]) {
        const xs = nsFor(t, c);
        if (!xs.length) continue;
        const p50 = median(xs.map((x) => x.p50Ms));
        const cpu = t === "direct" ? null : median(xs.map((x) => perReq(x, "target")));
        const db = t === "gw-pg";
        out.push(
          `| ${t} | ${c} | ${f(median(xs.map((x) => x.rps)), 0)} | ${f(p50)} | ${t === "direct" ? "0" : f(p50 !== null && d !== null ? p50 - d : null)} | ${f(cpu)} | ${t === "direct" ? "–" : f(ratioMed(t, c, (x) => perReq(x, "target")), 2)} | ${db ? f(median(xs.map((x) => perReq(x, "pg")))) : "–"} | ${db ? f(median(xs.map((x) => perReq(x, "redis")))) : "–"} | ${db ? f(ratioMed(t, c, (x) => perReq(x, "target") + perReq(x, "pg") + perReq(x, "redis")), 2) : "–"} | ${db ? f(median(xs.map((x) => perReq(x, "trips"))), 2) : "–"} | ${db ? f(median(xs.map((x) => (x.ok ? x.win.redisCmds / x.ok : NaN))), 2) : "–"} | ${f(median(xs.map((x) => x.win.foreignPct)), 0)} |`,
        );
      }
      const addedOf = (t: Name) => {
        const p = median(nsFor(t, c).map((x) => x.p50Ms));
        return p !== null && d !== null ? p - d : null;
      };
      if (c === 16 || c === 64) {
        const g = ratioMed("gw-pg", c, (x) => perReq(x, "target"));
        goals.push([`gateway CPU/request ≤ 2.0× baseline, PostgreSQL + Redis, ${c} conns`, f(g, 2) + "×", g === null ? null : g <= 2, ["gw-pg", `ns:${c}`]]);
        const all = ratioMed("gw-pg", c, (x) => perReq(x, "target") + perReq(x, "pg") + perReq(x, "redis"));
        goals.push([`gateway + PostgreSQL + Redis CPU/request ≤ 3× baseline, ${c} conns`, f(all, 2) + "×", all === null ? null : all <= 3, ["gw-pg", `ns:${c}`]]);
        const l = ratioMed("gw-pglite", c, (x) => perReq(x, "target"));
        goals.push([`gateway CPU/request ≤ 3× baseline, PGlite, ${c} conns`, f(l, 2) + "×", l === null ? null : l <= 3, ["gw-pglite", `ns:${c}`]]);
      }
      if (c === 1 || c === 8) {
        for (const t of ["gw-pg", "gw-pglite"] as Name[]) {
          const a = addedOf(t);
          goals.push([`added p50 ≤ 1 ms, ${t}, ${c} conn${c > 1 ? "s" : ""}`, `${f(a)} ms (baseline ${f(addedOf("baseline"))})`, a === null ? null : a <= 1, [t, `ns:${c}`]]);
        }
      }
      if (c === 64) {
        const trips = median(nsFor("gw-pg", c).map((x) => perReq(x, "trips")));
        goals.push(["SQL round trips/request ≤ 0.2, 64 conns", f(trips, 2), trips === null ? null : trips <= 0.2, ["gw-pg", "ns:64"]]);
      }
    }
    out.push("");
  }
  if (r.st.length) {
    out.push(`### Streams (${S.chunks} chunks every ${S.intervalMs} ms, ${S.streamConcurrency} at a time)`, "", "| target | streams ok | failed | TTFT p50 ms | CPU ms/stream | × baseline | + PG ms | + Redis ms |", "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const t of ["direct", "baseline", "gw-pglite", "gw-pg"] as Name[]) {
      const xs = r.st.filter((x) => x.target === t);
      if (!xs.length) continue;
      const per = (x: StRec, k: "target" | "pg" | "redis") => (x.ok ? x.win[k] / x.ok : NaN);
      const ratio = median(xs.map((x) => {
        const b = r.st.find((y) => y.target === "baseline" && y.round === x.round);
        return b ? per(x, "target") / per(b, "target") : NaN;
      }));
      out.push(`| ${t} | ${xs.reduce((s, x) => s + x.ok, 0)} | ${xs.reduce((s, x) => s + x.failed, 0)} | ${f(median(xs.map((x) => x.ttftP50Ms)), 2)} | ${t === "direct" ? "–" : f(median(xs.map((x) => per(x, "target"))), 2)} | ${t === "direct" ? "–" : f(ratio, 2)} | ${t === "gw-pg" ? f(median(xs.map((x) => per(x, "pg"))), 2) : "–"} | ${t === "gw-pg" ? f(median(xs.map((x) => per(x, "redis"))), 2) : "–"} |`);
      if (t === "gw-pg" || t === "gw-pglite") goals.push([`CPU per stream ≤ 1.3× baseline, ${t}`, f(ratio, 2) + "×", ratio === null ? null : ratio <= 1.3, [t, "stream"]]);
    }
    out.push("");
  }
  if (r.cuts.length) {
    out.push(`### Streams cut by the client after the first chunk (${S.cutStreams} per size, 2 at a time; a small request every 20 ms beside them, its CPU included)`, "", "| target | prompt chars | cut | CPU ms per cut stream | × baseline | probe p50 ms | probe max ms |", "|---|---:|---:|---:|---:|---:|---:|");
    for (const p of S.cutPrompts) {
      const b = r.cuts.find((x) => x.target === "baseline" && x.prompt === p);
      const bCpu = b && b.res.cut ? b.win.target / b.res.cut : null;
      for (const x of r.cuts.filter((y) => y.prompt === p)) {
        const cpu = x.res.cut ? x.win.target / x.res.cut : null;
        const ratio = cpu !== null && bCpu ? cpu / bCpu : null;
        out.push(`| ${x.target} | ${p} | ${x.res.cut} | ${f(cpu, 2)} | ${f(ratio, 2)} | ${f(x.res.probeP50Ms, 2)} | ${f(x.res.probeMaxMs, 1)} |`);
        if (x.target.startsWith("gw-")) {
          goals.push([`cut stream CPU ≤ 2× baseline, ${x.target}, ${p}-char prompt`, f(ratio, 2) + "×", ratio === null ? null : ratio <= 2, [x.target, `cut:${p}`]]);
          goals.push([`requests beside cut streams delayed ≤ 10 ms, ${x.target}, ${p}-char prompt`, `max ${f(x.res.probeMaxMs, 1)} ms`, x.res.probeMaxMs === null ? null : x.res.probeMaxMs <= 10, [x.target, `cut:${p}`]]);
        }
      }
    }
    out.push("");
  }
  if (r.slow.length) {
    const capped = S.slowStreams < S.slowRequested ? ` (${S.slowRequested} asked; this box's open-files limit ${fdLimit} holds ${S.slowStreams} proxied streams at 2 sockets each)` : "";
    out.push(`### ${S.slowStreams} slow streams open at once${capped}`, "", "| target | flowing | failed | open in s | RSS idle MiB | RSS open MiB | KB per stream | RSS after close MiB |", "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const x of r.slow) {
      const s = x.res;
      out.push(`| ${x.target} | ${s.flowing} / ${s.requested} | ${s.failed} | ${f(s.openSeconds, 1)} | ${f(s.rssIdleKb / 1024, 0)} | ${f(s.rssOpenKb / 1024, 0)} | ${f(s.kbPerStream, 1)} | ${f(s.rssAfterKb / 1024, 0)} |`);
      if (x.target.startsWith("gw-")) {
        goals.push([`${s.requested} slow streams all flowing, ${x.target}`, `${s.flowing} / ${s.requested}`, s.flowing === s.requested, [x.target, "slow"]]);
        goals.push([`RSS per open stream ≤ 30 KB, ${x.target}`, `${f(s.kbPerStream, 1)} KB`, s.kbPerStream === null ? null : s.kbPerStream <= 30, [x.target, "slow"]]);
        goals.push([`RSS back to idle after the streams close (within 10 %), ${x.target}`, `${f(s.rssIdleKb / 1024, 0)} → ${f(s.rssAfterKb / 1024, 0)} MiB`, s.rssAfterKb <= s.rssIdleKb * 1.1]);
      }
    }
    out.push("");
  }
  if (r.workers.length) {
    out.push("### WORKERS=2 against 1, PostgreSQL + Redis, 64 connections", "", "| gateway | req/s | p50 ms | CPU ms/req (all processes) | + PG | + Redis | SQL round trips/req |", "|---|---:|---:|---:|---:|---:|---:|");
    for (const t of ["gw-pg", "gw-pg-w2"] as Name[]) {
      const xs = r.workers.filter((x) => x.target === t);
      const per = (x: NsRec, k: "target" | "pg" | "redis" | "trips") => (x.ok ? x.win[k] / x.ok : NaN);
      out.push(`| ${t === "gw-pg" ? "WORKERS=1" : "WORKERS=2"} | ${f(median(xs.map((x) => x.rps)), 0)} | ${f(median(xs.map((x) => x.p50Ms)))} | ${f(median(xs.map((x) => per(x, "target"))))} | ${f(median(xs.map((x) => per(x, "pg"))))} | ${f(median(xs.map((x) => per(x, "redis"))))} | ${f(median(xs.map((x) => per(x, "trips"))), 2)} |`);
    }
    out.push("");
  }
  if (r.profiles.size) {
    // A miss names where the CPU of exactly the windows that measured it went (profiled runs are slower: compare shares, not times).
    const why = (k: [Name, string] | undefined, ok: boolean | null) => {
      const p = k && ok === false ? r.profiles.get(k[0])?.get(k[1]) : undefined;
      return p ? explainMiss(p) : "";
    };
    out.push("### Targets (profiled run: CPU figures include the profiler's cost)", "", "| target | measured | verdict | where the CPU went (share of non-idle samples, ms per request or stream) |", "|---|---|---|---|", ...goals.map(([g, m, ok, k]) => `| ${g} | ${m} | ${mark(ok)} | ${why(k, ok)} |`));
  } else out.push("### Targets", "", "| target | measured | verdict |", "|---|---|---|", ...goals.map(([g, m, ok]) => `| ${g} | ${m} | ${mark(ok)} |`));
  if (r.problems.length) out.push("", "**Problems:**", ...r.problems.map((p) => `- ${p}`));
  return out.join("\n");
}

function gitHead(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT }).toString().trim();
  } catch {
    return "unknown";
  }
}

process.on("SIGINT", () => process.exit(130));
main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[bench] failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
