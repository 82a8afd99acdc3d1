import type { Worker } from "node:worker_threads";
import { startWorker } from "../core/worker.js";
import { countPromptTokens, promptTokenUpperBound } from "./tokenizer.js";

/**
 * The exact local prompt count without blocking the event loop. Tokenizing costs ≈ 1 ms per KB of
 * prompt: a small prompt is counted in place (bounded cost), a big one in a worker thread, which
 * starts on first use and exits after a minute without work (the tokenizer's tables are tens of MB).
 * Until the count lands the hold (sized from the byte upper bound) still covers the request.
 */
const INLINE_MAX_BYTES = 4096;
const IDLE_EXIT_MS = 60_000;

let worker: Worker | null = null;
let idleTimer: ReturnType<typeof setTimeout> | null = null;
let nextId = 1;
const waiting = new Map<number, { body: Record<string, unknown>; resolve: (n: number) => void }>();
/** Big prompts counted by the worker, and on the event loop because the worker failed. */
export const counted = { inWorker: 0, onLoop: 0 };

function countHere(body: Record<string, unknown>): number {
  counted.onLoop++;
  return countPromptTokens(body);
}

const memo = new WeakMap<Record<string, unknown>, Promise<number>>();

function spawnCounter(): Worker {
  const w = startWorker(import.meta.url, "token-count-worker");
  w.unref();
  w.on("message", (m: { id: number; tokens: number }) => {
    const job = waiting.get(m.id);
    if (!job) return;
    waiting.delete(m.id);
    if (m.tokens >= 0) counted.inWorker++;
    job.resolve(m.tokens >= 0 ? m.tokens : countHere(job.body));
    if (waiting.size === 0) armIdleExit();
  });
  const fail = () => {
    if (worker === w) worker = null;
    // Whatever was in flight is counted here: a count is never lost.
    for (const [id, job] of waiting) {
      waiting.delete(id);
      job.resolve(countHere(job.body));
    }
  };
  w.on("error", fail);
  w.on("exit", fail);
  return w;
}

function armIdleExit(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = null;
    if (waiting.size === 0 && worker) {
      const w = worker;
      worker = null;
      void w.terminate();
    }
  }, IDLE_EXIT_MS);
  idleTimer.unref();
}

/** Prompt tokens of a chat/completions/embeddings body (memoized per body: start and end share it). */
export function promptTokens(body: Record<string, unknown>): Promise<number> {
  let p = memo.get(body);
  if (p) return p;
  if (promptTokenUpperBound(body) <= INLINE_MAX_BYTES) p = Promise.resolve(countPromptTokens(body));
  else {
    p = new Promise<number>((resolve) => {
      const id = nextId++;
      waiting.set(id, { body, resolve });
      if (idleTimer) {
        clearTimeout(idleTimer);
        idleTimer = null;
      }
      try {
        worker ??= spawnCounter();
        worker.postMessage({ id, body });
      } catch {
        waiting.delete(id);
        resolve(countHere(body));
      }
    });
  }
  memo.set(body, p);
  return p;
}

/** The exact count when it is cheap to take in place (a small prompt), else null (ask `promptTokens`). */
export function promptTokensNow(body: Record<string, unknown>): number | null {
  return promptTokenUpperBound(body) <= INLINE_MAX_BYTES ? countPromptTokens(body) : null;
}
