import { Pool } from "undici";
import { Samples } from "./stats.js";

export interface Target {
  label: "direct" | "gateway";
  /** Origin, e.g. http://127.0.0.1:18000 */
  origin: string;
  /** Path of the chat completions endpoint on that origin. */
  path: string;
  headers: Record<string, string>;
}

export interface RunCounts {
  ok: number;
  non2xx: number;
  errors: number;
  /** 200 answers whose body had no `usage` (metering would have nothing to bill). */
  missingUsage: number;
  /** First non-2xx status/error seen, to explain a failed run. */
  firstProblem: string | null;
}

export interface ClosedLoopResult extends RunCounts {
  connections: number;
  /** From the first request of the window to the last completion. */
  elapsedMs: number;
  rps: number;
  latencyUs: Samples;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** One keep-alive pool per target and concurrency, so connections stay open between runs. */
export function makePool(origin: string, connections: number): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
}

/**
 * Closed loop: `connections` workers, each sending the next request as soon as the previous answer
 * has been read completely. Latency is measured from just before the request is handed to undici to
 * the end of the body, with performance.now() (sub-µs resolution). Workers start no new request
 * after `durationMs`; the ones in flight finish and are counted (bounded by the request timeout).
 */
export async function closedLoop(pool: Pool, t: Target, body: Buffer, connections: number, durationMs: number, record: boolean): Promise<ClosedLoopResult> {
  const lat = new Samples();
  const counts: RunCounts = { ok: 0, non2xx: 0, errors: 0, missingUsage: 0, firstProblem: null };
  const start = performance.now();
  const stopAt = start + durationMs;
  let lastEnd = start;
  const worker = async () => {
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: t.path, method: "POST", headers: t.headers, body });
        const text = await res.body.text();
        const t1 = performance.now();
        lastEnd = t1;
        if (res.statusCode === 200) {
          counts.ok++;
          if (record) lat.add((t1 - t0) * 1000);
          if (!text.includes('"usage"')) counts.missingUsage++;
        } else {
          counts.non2xx++;
          counts.firstProblem ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
        }
      } catch (e) {
        counts.errors++;
        counts.firstProblem ??= `${(e as Error).name}: ${(e as Error).message}`;
        lastEnd = performance.now();
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsedMs = Math.max(1, lastEnd - start);
  return { ...counts, connections, elapsedMs, rps: (counts.ok * 1000) / elapsedMs, latencyUs: lat };
}
