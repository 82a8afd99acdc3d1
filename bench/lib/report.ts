import type { Dist } from "./stats.js";
import type { ProfileSummary } from "./profile.js";

export interface NonStreamAgg {
  target: "direct" | "gateway";
  connections: number;
  rounds: number;
  /** Medians over rounds. */
  rps: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Gateway process CPU ms per completed request (null for direct). */
  gwCpuMsPerReq: number | null;
  /** Share of that CPU spent after the last answer of the run (deferred log/settlement work), %. */
  deferredCpuPct: number | null;
  mockCpuMsPerReq: number | null;
  loadgenCpuMsPerReq: number | null;
  /** Requests the mock saw ÷ requests completed, over all rounds. */
  reachedMock: number | null;
  ok: number;
  non2xx: number;
  errors: number;
  missingUsage: number;
  ranges: { rps: [number, number] | null; p50Ms: [number, number] | null; gwCpuMsPerReq: [number, number] | null };
  firstProblem: string | null;
}

export interface StreamAgg {
  target: "direct" | "gateway";
  streams: number;
  failed: number;
  ttfbMs: Dist;
  ttftMs: Dist;
  gapMs: Dist;
  /** % of gaps shorter than a quarter of the upstream interval (frames delivered together). */
  clumpedPct: number | null;
  spanMs: Dist;
  contentChunksMedian: number | null;
  usagePct: number | null;
  donePct: number | null;
  gwCpuMsPerStream: number | null;
  reachedMock: number | null;
  firstProblem: string | null;
}

export interface Header {
  when: string;
  cores: number;
  cpuModel: string;
  node: string;
  database: string;
  redis: string;
  limiter: string;
  metrics: string;
  loadBefore: string;
  loadAfter: string;
  foreignMedianPct: number | null;
  foreignMaxPct: number | null;
  /** Gateway CPU while the direct runs went on (timers, log flushes of its previous run), ms per second. */
  gatewayIdleCpuMsPerS: number | null;
  mode: string;
  source: string;
  shape: string;
  load: string;
  profiled: boolean;
}

const f = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
const signed = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(d)}`);
const ratio = (g: number | null, d: number | null) => (g !== null && d !== null && d > 0 ? `×${(g / d).toFixed(2)}` : "–");
const verdict = (ok: boolean | null, text: string) => (ok === null ? text : `${text} ${ok ? "✓" : "✗"}`);
const pctStr = (x: number | null) => (x === null ? "–" : `${x.toFixed(x === 100 || x === 0 ? 0 : 1)} %`);

export interface Targets {
  addedP50Ms: number;
  cpuMsPerReq: number;
}

/** The one results table: a row per metric, direct-to-mock vs through the gateway. */
export function resultsTable(ns: NonStreamAgg[], st: StreamAgg[] | null, intervalMs: number, targets: Targets): string {
  const rows: string[][] = [];
  const conns = [...new Set(ns.map((r) => r.connections))].sort((a, b) => a - b);
  for (const c of conns) {
    const d = ns.find((r) => r.target === "direct" && r.connections === c)!;
    const g = ns.find((r) => r.target === "gateway" && r.connections === c)!;
    const label = `non-stream, ${c} conn${c === 1 ? "" : "s"}`;
    const added = g.p50Ms !== null && d.p50Ms !== null ? g.p50Ms - d.p50Ms : null;
    rows.push([`${label}: req/s`, f(d.rps, 0), f(g.rps, 0), ratio(g.rps, d.rps), ""]);
    rows.push([
      `${label}: p50 latency, ms`,
      f(d.p50Ms, 3),
      f(g.p50Ms, 3),
      signed(added, 3),
      c === 1 ? verdict(added === null ? null : added <= targets.addedP50Ms, `added ≤ ${targets.addedP50Ms}`) : "(queueing: ≈ conns ÷ req/s)",
    ]);
    rows.push([`${label}: p99 latency, ms`, f(d.p99Ms, 3), f(g.p99Ms, 3), signed(g.p99Ms !== null && d.p99Ms !== null ? g.p99Ms - d.p99Ms : null, 3), ""]);
    rows.push([
      `${label}: gateway CPU per request, ms`,
      "–",
      f(g.gwCpuMsPerReq, 3),
      g.gwCpuMsPerReq ? `≈ ${Math.round(1000 / g.gwCpuMsPerReq)} req/s per core${g.deferredCpuPct !== null ? `; ${g.deferredCpuPct.toFixed(0)} % of it after the responses` : ""}` : "",
      verdict(g.gwCpuMsPerReq === null ? null : g.gwCpuMsPerReq <= targets.cpuMsPerReq, `≤ ${targets.cpuMsPerReq}`),
    ]);
    rows.push([
      `${label}: reached mock · errors`,
      `${f(d.reachedMock, 3)} · ${d.non2xx + d.errors}`,
      `${f(g.reachedMock, 3)} · ${g.non2xx + g.errors}`,
      "",
      verdict(g.reachedMock === null ? null : Math.abs(g.reachedMock - 1) < 0.005 && g.non2xx + g.errors === 0, "1.000 · 0"),
    ]);
  }
  if (st) {
    const d = st.find((r) => r.target === "direct")!;
    const g = st.find((r) => r.target === "gateway")!;
    const diff = (a: number | null, b: number | null, k = 1) => (a !== null && b !== null ? (a - b) * k : null);
    rows.push(["stream: time to first token p50, ms", f(d.ttftMs.p50, 3), f(g.ttftMs.p50, 3), signed(diff(g.ttftMs.p50, d.ttftMs.p50), 3), ""]);
    rows.push(["stream: time to first token p99, ms", f(d.ttftMs.p99, 3), f(g.ttftMs.p99, 3), signed(diff(g.ttftMs.p99, d.ttftMs.p99), 3), ""]);
    const gapOk =
      g.gapMs.p50 !== null && d.gapMs.p50 !== null && g.clumpedPct !== null && d.clumpedPct !== null
        ? Math.abs(g.gapMs.p50 - d.gapMs.p50) <= Math.max(0.5, 0.1 * intervalMs) && g.clumpedPct <= d.clumpedPct + 1
        : null;
    rows.push([`stream: chunk gap p50, ms (upstream sends every ${intervalMs} ms)`, f(d.gapMs.p50, 3), f(g.gapMs.p50, 3), signed(diff(g.gapMs.p50, d.gapMs.p50), 3), verdict(gapOk, "as spaced as upstream")]);
    rows.push(["stream: chunk gap p99, ms", f(d.gapMs.p99, 3), f(g.gapMs.p99, 3), signed(diff(g.gapMs.p99, d.gapMs.p99), 3), ""]);
    rows.push([`stream: gaps < ${(intervalMs / 4).toFixed(1)} ms (chunks held back)`, pctStr(d.clumpedPct), pctStr(g.clumpedPct), "", ""]);
    rows.push(["stream: first→last content span p50, ms", f(d.spanMs.p50, 2), f(g.spanMs.p50, 2), ratio(g.spanMs.p50, d.spanMs.p50), "ratio ≥ 0.95"]);
    const deliv = (r: StreamAgg) => `${pctStr(r.usagePct)} · ${pctStr(r.donePct)} · ${r.failed}`;
    rows.push([
      "stream: usage chunk · [DONE] delivered · failed",
      deliv(d),
      deliv(g),
      "",
      verdict(g.usagePct === null ? null : g.usagePct === 100 && g.donePct === 100 && g.failed === 0, "100 % · 100 % · 0"),
    ]);
    rows.push(["stream: gateway CPU per stream, ms", "–", f(g.gwCpuMsPerStream, 3), "", ""]);
  }
  const head = ["metric", "direct to mock", "through gateway", "Δ (gateway − direct)", "target"];
  const align = ["---", "---:", "---:", "---:", "---"];
  return [head, align, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

export function headerLines(h: Header): string {
  const foreign = h.foreignMedianPct === null ? "n/a" : `median ${h.foreignMedianPct.toFixed(0)} %, max ${f(h.foreignMaxPct, 0)} % of one core`;
  return [
    `## LLM Gateway benchmark (${h.mode}), ${h.when}, code ${h.source}`,
    "",
    `- machine: ${h.cores} cores (${h.cpuModel}), Node ${h.node}; load average ${h.loadBefore} before, ${h.loadAfter} after; other tenants' CPU during the measured windows: ${foreign}`,
    `- gateway: one process \`node --import tsx src/main/server.ts\`; database ${h.database}; Redis ${h.redis}; rate limiter ${h.limiter}; metrics ${h.metrics}; LOG_LEVEL=warn; CPU while not under load ${f(h.gatewayIdleCpuMsPerS, 1)} ms/s${h.profiled ? "; **profiled with --cpu-prof (CPU and latency figures are inflated)**" : ""}`,
    `- upstream: mock process \`src/mock/main.ts\`; ${h.shape}`,
    `- load: ${h.load}`,
  ].join("\n");
}

const areas = (p: ProfileSummary) =>
  p.byArea
    .filter((a) => a.pct >= 1)
    .map((a) => `${a.area} ${a.pct.toFixed(1)} %`)
    .join(", ");

export function profileTables(p: ProfileSummary, what: string, streams: ProfileSummary | null): string {
  const lines: string[] = [];
  lines.push(
    `### Gateway CPU profile, ${p.windowed ? `${what} measured windows only` : "whole run (windows did not match the profile's clock)"}: ${p.busyMs.toFixed(0)} ms sampled non-idle, ${p.idleMs.toFixed(0)} ms idle (sampled wall time: on a busy host it includes time the thread was runnable but preempted)`,
    "",
    "| # | function | where | area | self ms | % of non-idle |",
    "|---:|---|---|---|---:|---:|",
  );
  p.top.forEach((r, i) => lines.push(`| ${i + 1} | \`${r.fn}\` | ${r.where || "–"} | ${r.area} | ${r.selfMs.toFixed(1)} | ${r.pct.toFixed(1)} |`));
  if (p.ownInclusive.length) {
    lines.push("", "Gateway code (src/) by inclusive time (callees included; nested entries overlap):", "", "| function | file | total ms | % of non-idle |", "|---|---|---:|---:|");
    for (const r of p.ownInclusive) lines.push(`| \`${r.fn}\` | ${r.where} | ${r.totalMs.toFixed(1)} | ${r.pct.toFixed(1)} |`);
  }
  lines.push("", "By area (self time; native and wasm frames charged to their caller): " + areas(p));
  if (streams && streams.windowed) {
    lines.push(
      "",
      `Stream windows (${streams.busyMs.toFixed(0)} ms non-idle): top self time: ` + streams.top.map((r) => `\`${r.fn}\` (${r.area}) ${r.pct.toFixed(1)} %`).join(", "),
      "",
      "By area: " + areas(streams),
    );
  }
  lines.push("", `Profile: ${p.file} (open in Chrome DevTools → Performance, or speedscope).`);
  return lines.join("\n");
}
