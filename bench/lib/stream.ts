import type { Pool } from "undici";
import type { Target } from "./load.js";
import { Samples } from "./stats.js";

export interface StreamSample {
  ok: boolean;
  problem?: string;
  /** ms from sending to response headers. */
  ttfbMs?: number;
  /** ms from sending to the first frame carrying non-empty content ("first token"). */
  ttftMs?: number | null;
  /** ms from sending to the end of the body. */
  totalMs?: number;
  /** ms between the first and the last content frame as the client received them. */
  spanMs?: number | null;
  contentChunks?: number;
  usage?: boolean;
  done?: boolean;
}

export interface StreamBatch {
  samples: StreamSample[];
  /** Gaps between consecutive content frames at the client, µs, over all streams. */
  gapsUs: Samples;
  elapsedMs: number;
}

const STREAM_TIMEOUT_MS = 30_000;

/**
 * One SSE request. Frames are timestamped when the read that completed them returns, so a gateway
 * that holds chunks back shows up as gaps near 0 followed by one long gap.
 */
async function oneStream(pool: Pool, t: Target, body: Buffer, gaps: Samples): Promise<StreamSample> {
  const t0 = performance.now();
  const res = await pool.request({ path: t.path, method: "POST", headers: t.headers, body, signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) });
  const ttfbMs = performance.now() - t0;
  if (res.statusCode !== 200) {
    const text = await res.body.text().catch(() => "");
    return { ok: false, problem: `HTTP ${res.statusCode}: ${text.slice(0, 300)}`, ttfbMs };
  }
  let buf = "";
  let first: number | null = null;
  let last: number | null = null;
  let chunks = 0;
  let usage = false;
  let done = false;
  const localGaps: number[] = [];
  for await (const piece of res.body as AsyncIterable<Buffer>) {
    const now = performance.now();
    buf += piece.toString("utf8");
    let end: number;
    while ((end = buf.indexOf("\n\n")) !== -1) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (!frame.startsWith("data:")) continue;
      const data = frame.slice(5).trim();
      if (data === "[DONE]") {
        done = true;
        continue;
      }
      if (data.includes('"usage":{')) usage = true;
      const content = (data.includes('"content":"') && !data.includes('"content":""')) || (data.includes('"text":"') && !data.includes('"text":""'));
      if (content) {
        if (last !== null) localGaps.push((now - last) * 1000);
        if (first === null) first = now;
        last = now;
        chunks++;
      }
    }
  }
  const totalMs = performance.now() - t0;
  for (const g of localGaps) gaps.add(g);
  return {
    ok: true,
    ttfbMs,
    ttftMs: first === null ? null : first - t0,
    totalMs,
    spanMs: first === null || last === null ? null : last - first,
    contentChunks: chunks,
    usage,
    done,
  };
}

/** `count` streams, at most `concurrency` at a time. */
export async function streamBatch(pool: Pool, t: Target, body: Buffer, count: number, concurrency: number): Promise<StreamBatch> {
  const samples: StreamSample[] = [];
  const gapsUs = new Samples();
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        samples.push(await oneStream(pool, t, body, gapsUs));
      } catch (e) {
        samples.push({ ok: false, problem: `${(e as Error).name}: ${(e as Error).message}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { samples, gapsUs, elapsedMs: performance.now() - start };
}
