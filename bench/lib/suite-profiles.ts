/**
 * `npm run bench -- --profile`: every gateway runs under `--cpu-prof`, and each missed target is
 * explained by the profile of exactly the windows that measured it (same target, same scenario).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { summarizeProfile, type ProfileSummary } from "./profile.js";

/** Monotonic µs, the clock V8 stamps profile samples with (shared by every process on the host). */
export const monoUs = () => Number(process.hrtime.bigint() / 1000n);

export interface MeasuredWindow {
  /** "ns:16", "stream", "cut:32000", "slow": which scenario measured it. */
  scenario: string;
  range: [number, number];
  /** Requests or streams the window completed (for CPU per operation). */
  ops: number;
}

export interface ScenarioProfile {
  summary: ProfileSummary;
  ops: number;
}

/** Node flags that make a gateway write its main thread's profile into `dir/<name>` at exit. */
export function profileFlags(dir: string, name: string): string[] {
  return ["--cpu-prof", `--cpu-prof-dir=${join(dir, name)}`];
}

/** The main thread's profile of a stopped process (worker threads write their own files: `.<pid>.<thread>.`). */
function mainThreadProfile(dir: string, pid: number): string | null {
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  const main = files.filter((f) => f.includes(`.${pid}.0.`));
  const pick = (main.length ? main : files).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  return pick ? join(dir, pick) : null;
}

/** One summary per scenario the target was measured in, from its windows only. */
export function scenarioProfiles(dir: string, name: string, pid: number, windows: MeasuredWindow[]): Map<string, ScenarioProfile> {
  const out = new Map<string, ScenarioProfile>();
  const file = mainThreadProfile(join(dir, name), pid);
  if (!file) return out;
  for (const scenario of new Set(windows.map((w) => w.scenario))) {
    const mine = windows.filter((w) => w.scenario === scenario);
    const summary = summarizeProfile(file, mine.map((w) => w.range), 6);
    if (summary.windowed) out.set(scenario, { summary, ops: mine.reduce((s, w) => s + w.ops, 0) });
  }
  return out;
}

/** One line for a target's row: the biggest owners of the CPU, with ms per operation. */
export function explainMiss(p: ScenarioProfile): string {
  const per = (ms: number) => (p.ops ? (ms / p.ops).toFixed(3) : "–");
  const areas = p.summary.byArea.slice(0, 6).map((a) => `${a.area} ${a.pct.toFixed(0)} % (${per(a.selfMs)})`);
  const fns = p.summary.top.slice(0, 4).map((r) => `\`${r.fn}\` ${r.pct.toFixed(1)} %`);
  return `${areas.join(", ")}; top functions ${fns.join(", ")}`;
}
