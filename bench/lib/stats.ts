import { hostCpuMs, selfCpuMs, treeCpuMs } from "./procs.js";

/** Growable sample buffer (µs), bounded so a runaway run cannot eat the machine's memory. */
export class Samples {
  private buf = new Float64Array(4096);
  length = 0;
  constructor(private readonly max = 5_000_000) {}

  add(v: number): void {
    if (this.length === this.buf.length) {
      if (this.length >= this.max) return;
      const next = new Float64Array(Math.min(this.max, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  addAll(o: Samples): void {
    for (let i = 0; i < o.length; i++) this.add(o.buf[i]!);
  }

  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort();
  }

  summary(): Dist {
    return dist(this.sorted());
  }
}

export interface Dist {
  n: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/** Nearest-rank percentile of an ascending array. */
export function pct(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function dist(sorted: ArrayLike<number>): Dist {
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    n: sorted.length,
    mean: sorted.length ? sum / sorted.length : null,
    p50: pct(sorted, 50),
    p90: pct(sorted, 90),
    p99: pct(sorted, 99),
    p999: pct(sorted, 99.9),
    max: sorted.length ? sorted[sorted.length - 1]! : null,
  };
}

export function median(xs: Array<number | null | undefined>): number | null {
  const v = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

export function range(xs: Array<number | null | undefined>): [number, number] | null {
  const v = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return v.length ? [Math.min(...v), Math.max(...v)] : null;
}

export const round = (x: number | null | undefined, d = 3): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d;

/** CPU and host accounting of one measured window. */
export interface WindowCpu {
  wallMs: number;
  /** CPU ms of each watched process tree during the window. */
  procs: Record<string, number>;
  /** The load generator (this process). */
  loadgenMs: number;
  /** Host CPU busy during the window, % of one core. */
  hostBusyPct: number;
  /** Busy CPU not explained by the watched processes or the load generator (other tenants), % of one core. */
  foreignPct: number;
}

/** Starts a window over the given processes; call the result to close it. */
export function cpuWindow(pids: Record<string, number>): () => WindowCpu {
  const t0 = performance.now();
  const h0 = hostCpuMs();
  const s0 = selfCpuMs();
  const p0: Record<string, number> = {};
  for (const [k, pid] of Object.entries(pids)) p0[k] = treeCpuMs(pid);
  return () => {
    const wallMs = performance.now() - t0;
    const h1 = hostCpuMs();
    const loadgenMs = selfCpuMs() - s0;
    const procs: Record<string, number> = {};
    let known = loadgenMs;
    for (const [k, pid] of Object.entries(pids)) {
      procs[k] = treeCpuMs(pid) - p0[k]!;
      known += procs[k]!;
    }
    const busy = h1.busy - h0.busy;
    return {
      wallMs,
      procs,
      loadgenMs,
      hostBusyPct: (100 * busy) / wallMs,
      foreignPct: Math.max(0, (100 * (busy - known)) / wallMs),
    };
  };
}
