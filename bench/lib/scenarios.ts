import { readFileSync } from "node:fs";
import { Pool } from "undici";
import { processTree } from "./procs.js";

/** RSS of a process tree in KiB (/proc/<pid>/status VmRSS), 0 when gone. */
export function treeRssKb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) kb += Number(m[1]);
    } catch {
      /* exited */
    }
  }
  return kb;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hasContent = (s: string) => /"content":"[^"]/.test(s) || /"text":"[^"]/.test(s);

export interface CutResult {
  cut: number;
  failed: number;
  firstProblem: string | null;
  probes: number;
  probeMaxMs: number | null;
  probeP50Ms: number | null;
}

/**
 * `count` streams, `concurrency` at a time, each cut by the client right after its first content
 * frame; beside them one small non-stream request every `probeEveryMs` (its worst latency shows
 * whether a cut stream stalls everyone else).
 */
export async function cutStreams(
  origin: string,
  path: string,
  headers: Record<string, string>,
  streamBody: Buffer,
  probeBody: Buffer,
  count: number,
  concurrency: number,
  probeEveryMs: number,
): Promise<CutResult> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 10_000 });
  const probePool = new Pool(origin, { connections: 2, pipelining: 1, keepAliveTimeout: 10_000 });
  let next = 0;
  let cut = 0;
  let failed = 0;
  let firstProblem: string | null = null;
  let done = false;
  const probeMs: number[] = [];
  const probeLoop = (async () => {
    while (!done) {
      const t0 = performance.now();
      try {
        const r = await probePool.request({ path, method: "POST", headers, body: probeBody });
        await r.body.text();
        if (r.statusCode === 200) probeMs.push(performance.now() - t0);
      } catch {
        /* counted as a missing probe */
      }
      const left = probeEveryMs - (performance.now() - t0);
      if (left > 0) await sleep(left);
    }
  })();
  const worker = async () => {
    while (next < count) {
      next++;
      const ac = new AbortController();
      try {
        const r = await pool.request({ path, method: "POST", headers, body: streamBody, signal: ac.signal });
        if (r.statusCode !== 200) {
          failed++;
          firstProblem ??= `HTTP ${r.statusCode}: ${(await r.body.text()).slice(0, 200)}`;
          continue;
        }
        let seen = "";
        for await (const piece of r.body as AsyncIterable<Buffer>) {
          seen += piece.toString("utf8");
          if (hasContent(seen)) break;
        }
        ac.abort();
        cut++;
      } catch (e) {
        if ((e as Error).name !== "AbortError") {
          failed++;
          firstProblem ??= `${(e as Error).name}: ${(e as Error).message}`;
        } else cut++;
      }
      // Let the target notice the cut and do what it does then, before the next one.
      await sleep(20);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  await sleep(200);
  done = true;
  await probeLoop;
  await Promise.all([pool.destroy(), probePool.destroy()]).catch(() => undefined);
  probeMs.sort((a, b) => a - b);
  return {
    cut,
    failed,
    firstProblem,
    probes: probeMs.length,
    probeMaxMs: probeMs.length ? probeMs[probeMs.length - 1]! : null,
    probeP50Ms: probeMs.length ? probeMs[Math.floor(probeMs.length / 2)]! : null,
  };
}

export interface SlowResult {
  requested: number;
  headers: number;
  flowing: number;
  failed: number;
  firstProblem: string | null;
  openSeconds: number;
  rssIdleKb: number;
  rssOpenKb: number;
  rssAfterKb: number;
  kbPerStream: number | null;
}

/**
 * `n` slow streams opened at once (the upstream sends one content chunk, then nothing for minutes);
 * a stream is flowing once its first content frame arrived. RSS of the target is read idle, with all
 * streams open, and after the client closed them all and the target had a few seconds to settle.
 */
export async function slowStreams(
  origin: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  n: number,
  openTimeoutMs: number,
  rssOf: () => number,
): Promise<SlowResult> {
  const rssIdleKb = rssOf();
  const pool = new Pool(origin, { connections: n, pipelining: 1, keepAliveTimeout: 5_000, headersTimeout: openTimeoutMs + 10_000, bodyTimeout: 0 });
  const controllers: AbortController[] = [];
  let heads = 0;
  let flowing = 0;
  let failed = 0;
  let firstProblem: string | null = null;
  const t0 = performance.now();
  const all = Array.from({ length: n }, async () => {
    const ac = new AbortController();
    controllers.push(ac);
    try {
      const r = await pool.request({ path, method: "POST", headers, body, signal: ac.signal });
      heads++;
      if (r.statusCode !== 200) {
        failed++;
        firstProblem ??= `HTTP ${r.statusCode}`;
        await r.body.text().catch(() => "");
        return;
      }
      let seen = "";
      let counted = false;
      for await (const piece of r.body as AsyncIterable<Buffer>) {
        if (counted) continue;
        seen += piece.toString("utf8");
        if (hasContent(seen)) {
          counted = true;
          flowing++;
          seen = "";
        }
      }
    } catch (e) {
      if ((e as Error).name !== "AbortError") {
        failed++;
        firstProblem ??= `${(e as Error).name}: ${(e as Error).message}`;
      }
    }
  });
  const deadline = t0 + openTimeoutMs;
  while (flowing + failed < n && performance.now() < deadline) await sleep(250);
  const openSeconds = (performance.now() - t0) / 1000;
  await sleep(1000);
  const rssOpenKb = rssOf();
  for (const ac of controllers) ac.abort();
  await Promise.allSettled(all);
  await pool.destroy().catch(() => undefined);
  await sleep(5000);
  const rssAfterKb = rssOf();
  return {
    requested: n,
    headers: heads,
    flowing,
    failed,
    firstProblem,
    openSeconds,
    rssIdleKb,
    rssOpenKb,
    rssAfterKb,
    // RSS that fell while the streams were open (a collection freed more than they took) measures nothing.
    kbPerStream: flowing && rssOpenKb > rssIdleKb ? (rssOpenKb - rssIdleKb) / flowing : null,
  };
}
