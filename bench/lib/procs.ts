import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";

/** Repository root (bench/lib/ → ../..). */
export const REPO_ROOT = new URL("../..", import.meta.url).pathname;

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {
  /* Linux default */
}
export const CLK_TCK = clkTck;

/** utime+stime (all threads) of one process from /proc/<pid>/stat, in ms; null when it is gone. */
function statCpuMs(pid: number): { ppid: number; ms: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: the fields after the last ')' are fixed.
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), ms: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK };
  } catch {
    return null;
  }
}

/** The process and every descendant (a gateway that forks a helper is charged for it too). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [root];
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    const st = statCpuMs(Number(d));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(d));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** CPU ms used so far by the process tree rooted at pid (user + system, all threads). */
export function treeCpuMs(pid: number): number {
  let ms = 0;
  for (const p of processTree(pid)) ms += statCpuMs(p)?.ms ?? 0;
  return ms;
}

/** This process's own CPU ms (the load generator). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Whole-host CPU counters from /proc/stat, in ms (busy excludes idle and iowait). */
export function hostCpuMs(): { busy: number; total: number } {
  try {
    const v = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: (busy * 1000) / CLK_TCK, total: ((busy + idle + iowait) * 1000) / CLK_TCK };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export function loadAvg(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

/** A free loopback port (tiny race between close and the child's listen; fine on loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface NodeProc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last 64 KB the process printed (stdout + stderr). */
  output(): string;
  exited(): boolean;
  /** SIGTERM, wait up to graceMs, then SIGKILL. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const live = new Set<NodeProc>();

/** Kill whatever is still running if the bench itself dies (by PID, never by name). */
function killAllSync(): void {
  for (const p of live) {
    if (!p.exited()) {
      try {
        p.child.kill("SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }
}
process.once("exit", killAllSync);

/** `node [nodeFlags] --import tsx <script> [args]` from the repository root, with exactly `env`. */
export function spawnTsNode(name: string, script: string, args: string[], env: Record<string, string>, nodeFlags: string[] = [], cwd = REPO_ROOT): NodeProc {
  const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", script, ...args], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65536) out = out.slice(-65536);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exitCode: number | null | undefined;
  const exitP = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve(exitCode);
    }),
  );
  const proc: NodeProc = {
    name,
    pid: child.pid ?? -1,
    child,
    output: () => out,
    exited: () => exitCode !== undefined,
    async stop(graceMs = 20_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exitP;
      clearTimeout(t);
      live.delete(proc);
      return code;
    },
  };
  if (proc.pid < 0) throw new Error(`${name}: spawn failed`);
  live.add(proc);
  return proc;
}

/** Polls `url` until it answers 2xx; fails early if the process exits. */
export async function waitReady(proc: NodeProc, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`${proc.name} exited during start-up:\n${proc.output()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${proc.name} did not answer ${url} within ${timeoutMs} ms:\n${proc.output()}`);
}
