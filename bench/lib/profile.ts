import { readFileSync } from "node:fs";
import { REPO_ROOT } from "./procs.js";

/** The parts of a V8 .cpuprofile (node --cpu-prof) this reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  fn: string;
  where: string;
  area: string;
  selfMs: number;
  /** % of the non-idle samples in the selected windows. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  /** True when samples were restricted to the measured gateway windows; false: the whole run. */
  windowed: boolean;
  busyMs: number;
  idleMs: number;
  top: ProfileRow[];
  byArea: Array<{ area: string; selfMs: number; pct: number }>;
  /** The gateway's own functions (src/) by inclusive time: where its request path spends, callees included. */
  ownInclusive: Array<{ fn: string; where: string; totalMs: number; pct: number }>;
}

/** Short location: repo-relative for our code, `pkg/…` for dependencies, node:… for Node itself. */
function location(url: string): { where: string; area: string } {
  if (!url) return { where: "", area: "(native/V8)" };
  let u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("/node_modules/");
  if (nm !== -1) {
    u = u.slice(nm + "/node_modules/".length);
    const parts = u.split("/");
    const pkg = parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
    return { where: u, area: pkg };
  }
  if (u.startsWith(REPO_ROOT)) u = u.slice(REPO_ROOT.length);
  if (u.startsWith("src/")) {
    const dir = u.split("/").slice(0, 2).join("/");
    return { where: u, area: dir };
  }
  if (u.startsWith("node:")) return { where: u, area: u.startsWith("node:internal/") ? `node:${u.split("/")[1] ?? "internal"}` : u };
  return { where: u, area: u };
}

/**
 * Self time per function from a .cpuprofile. `windows` are [start, end] pairs in µs of the
 * monotonic clock (the clock V8 stamps samples with); samples outside every window (start-up,
 * warm-up, the direct-to-mock runs) are ignored. With no usable windows the whole profile counts.
 */
export function summarizeProfile(file: string, windows: Array<[number, number]>, topN = 15): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  // Only trust the windows if they overlap the profile's own time span.
  const usable = windows.filter(([a, b]) => b > prof.startTime && a < prof.endTime);
  const windowed = usable.length > 0;
  const inWindow = (t: number) => !windowed || usable.some(([a, b]) => t >= a && t <= b);

  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    // A sample stands for the interval until the next one.
    const dur = prof.timeDeltas[i + 1] ?? 0;
    if (!inWindow(t)) continue;
    const id = prof.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dur);
  }

  // Native and WebAssembly frames (PGlite's Postgres, undici's llhttp, socket writes) belong to
  // whoever called them: charge them to the nearest caller with a JavaScript location.
  const areaMemo = new Map<number, string>();
  const areaOf = (id: number): string => {
    const hit = areaMemo.get(id);
    if (hit) return hit;
    const cf = byId.get(id)?.callFrame;
    let area = "(native/V8)";
    if (cf && cf.url && !cf.url.startsWith("wasm://")) area = location(cf.url).area;
    else {
      const p = parent.get(id);
      if (p !== undefined && byId.get(p)?.callFrame.functionName !== "(root)") area = areaOf(p);
    }
    areaMemo.set(id, area);
    return area;
  };
  const rows = new Map<string, ProfileRow>();
  const areas = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const name = cf.functionName || "(anonymous)";
    if (name === "(idle)") {
      idleUs += us;
      continue;
    }
    if (name === "(root)") continue;
    busyUs += us;
    const loc = location(cf.url);
    const area = name === "(garbage collector)" ? "(garbage collector)" : name === "(program)" ? "(program: V8/native)" : areaOf(id);
    const where = lineOf(loc.where, cf.lineNumber);
    const key = `${name}@${where}`;
    const r = rows.get(key) ?? { fn: name, where, area, selfMs: 0, pct: 0 };
    r.selfMs += us / 1000;
    rows.set(key, r);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const busyMs = busyUs / 1000;
  const top = [...rows.values()]
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, topN)
    .map((r) => ({ ...r, pct: busyMs ? (100 * r.selfMs) / busyMs : 0 }));
  const byArea = [...areas.entries()]
    .map(([area, us]) => ({ area, selfMs: us / 1000, pct: busyUs ? (100 * us) / busyUs : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
  // Inclusive time of our own functions: walk each sampled stack once, counting a function once per sample.
  const own = new Map<string, { fn: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    const leaf = byId.get(id);
    if (!leaf || leaf.callFrame.functionName === "(idle)" || leaf.callFrame.functionName === "(root)") continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)?.callFrame;
      if (!cf) break;
      const loc = location(cf.url);
      if (!loc.area.startsWith("src/")) continue;
      const fn = cf.functionName || "(anonymous)";
      const key = `${fn}@${loc.where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const r = own.get(key) ?? { fn, where: loc.where, us: 0 };
      r.us += us;
      own.set(key, r);
    }
  }
  const ownInclusive = [...own.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((r) => ({ fn: r.fn, where: r.where, totalMs: r.us / 1000, pct: busyUs ? (100 * r.us) / busyUs : 0 }));
  return { file, windowed, busyMs, idleMs: idleUs / 1000, top, byArea, ownInclusive };
}

/** tsx-transformed files report line 0 for everything; a line is only worth showing when known. */
function lineOf(where: string, line0: number): string {
  if (!where) return "";
  return line0 > 0 ? `${where}:${line0 + 1}` : where;
}
