import type { Worker } from "node:worker_threads";
import { startWorker } from "../core/worker.js";
import { countTokens, warmTokenizer } from "./o200k-count.js";
import { promptParts } from "./tokenizer.js";

/**
 * The exact local prompt count without blocking the event loop. Counting unseen text costs ≈ 0.06 ms
 * per 1,000 characters of English to ≈ 0.3 ms of Cyrillic (words met before cost less;
 * o200k-count.ts): texts up to 16 K characters per body are counted in place (≈ 1–5 ms at worst),
 * longer ones in a worker thread. The thread is started at boot
 * (warmTokenCounting) and loads its tables then (≈ 40 MiB, ≈ 0.3 s of CPU, off the event loop), so
 * the first big prompt or cut stream does not pay for it; started on first use otherwise, it exits
 * after five minutes without work. Counts
 * of long texts are remembered (bounded), so a conversation's history, resent with every turn, and
 * a system prompt shared by many requests are tokenized once. Until a count lands the hold (sized
 * from the byte upper bound) still covers the request.
 */
/** Characters counted in place per body, at most (≈ 1 ms of unseen English, ≈ 5 ms of unseen Cyrillic). */
const INLINE_MAX_CHARS = 16 * 1024;
const IDLE_EXIT_MS = 300_000;
/** Shorter texts are not remembered (counting them is cheaper than keeping them). */
const MEMO_MIN_CHARS = 256;
/** Characters of remembered texts (the texts are the requests' own strings: no copy is made). */
const MEMO_MAX_CHARS = 16 * 1024 * 1024;

let worker: Worker | null = null;
/** Started at boot: kept for the life of the process (a restart would cost the next request its start). */
let resident = false;
let idleTimer: ReturnType<typeof setTimeout> | null = null;
let nextId = 1;
const waiting = new Map<number, { texts: string[]; resolve: (counts: number[]) => void }>();
/** Prompt texts counted by the worker, and on the event loop because the worker failed (per job). */
export const counted = { inWorker: 0, onLoop: 0 };

function countHere(texts: string[]): number[] {
  if (texts.length > 0) counted.onLoop++;
  return texts.map(countTokens);
}
const perBody = new WeakMap<Record<string, unknown>, Promise<number>>();
const memo = new Map<string, number>();
let memoChars = 0;
/** Long texts out for counting now: a second body with the same text (two turns of one conversation at once) waits for that count. */
const counting = new Map<string, Promise<number>>();

function remember(text: string, n: number): void {
  if (memo.has(text)) return;
  memo.set(text, n);
  memoChars += text.length;
  while (memoChars > MEMO_MAX_CHARS) {
    const oldest = memo.keys().next().value;
    if (oldest === undefined) break;
    memo.delete(oldest);
    memoChars -= oldest.length;
  }
}

function spawnCounter(): Worker {
  const w = startWorker(import.meta.url, "token-count-worker");
  w.on("message", (m: { id: number; counts: number[] | null }) => {
    const job = waiting.get(m.id);
    if (!job) return;
    waiting.delete(m.id);
    if (m.counts && job.texts.length > 0) counted.inWorker++;
    job.resolve(m.counts ?? countHere(job.texts));
    if (waiting.size === 0) {
      w.unref();
      armIdleExit();
    }
  });
  const fail = () => {
    if (worker === w) worker = null;
    // Whatever was in flight is counted here: a count is never lost.
    for (const [id, job] of waiting) {
      waiting.delete(id);
      job.resolve(countHere(job.texts));
    }
  };
  w.on("error", fail);
  w.on("exit", fail);
  // After the listeners (a message listener refs the port again): an idle thread never keeps the process alive.
  w.unref();
  return w;
}

function armIdleExit(): void {
  if (resident) return;
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

function countOffThread(texts: string[]): Promise<number[]> {
  return new Promise<number[]>((resolve) => {
    const id = nextId++;
    waiting.set(id, { texts, resolve });
    if (idleTimer) {
      clearTimeout(idleTimer);
      idleTimer = null;
    }
    try {
      worker ??= spawnCounter();
      // Held while a count is out (a bill waits for it, a shutdown too), released when idle.
      worker.ref();
      worker.postMessage({ id, texts });
    } catch {
      waiting.delete(id);
      resolve(countHere(texts));
    }
  });
}

/** The count from remembered texts and short ones (within a budget per body), the counts under way, and the texts still to count. */
function split(body: Record<string, unknown>): { known: number; pending: Promise<number>[]; todo: string[] } {
  const { fixed, texts } = promptParts(body);
  let known = fixed;
  let inline = 0;
  const pending: Promise<number>[] = [];
  const todo: string[] = [];
  for (const t of texts) {
    const n = t.length > MEMO_MIN_CHARS ? memo.get(t) : undefined;
    const under = n === undefined && t.length > MEMO_MIN_CHARS ? counting.get(t) : undefined;
    if (n !== undefined) known += n;
    else if (under) pending.push(under);
    else if (inline + t.length <= INLINE_MAX_CHARS) {
      inline += t.length;
      known += countTokens(t);
    } else todo.push(t);
  }
  return { known, pending, todo };
}

/** Prompt tokens of a chat/completions/embeddings body (one count per body: start and end share it). */
export function promptTokens(body: Record<string, unknown>): Promise<number> {
  let p = perBody.get(body);
  if (p) return p;
  const { known, pending, todo } = split(body);
  if (todo.length === 0 && pending.length === 0) p = Promise.resolve(known);
  else {
    const batch = todo.length > 0 ? countOffThread(todo) : Promise.resolve([]);
    const each = todo.map((_, i) => batch.then((counts) => counts[i]!));
    todo.forEach((t, i) => {
      if (t.length <= MEMO_MIN_CHARS) return;
      counting.set(t, each[i]!);
      void each[i]!.then((n) => {
        remember(t, n);
        counting.delete(t);
      });
    });
    p = Promise.all([...each, ...pending]).then((counts) => counts.reduce((a, b) => a + b, known));
  }
  perBody.set(body, p);
  return p;
}

/** Tokens of one text (a stream's delivered output): in place when short, else in the counting thread. */
export function textTokens(text: string): Promise<number> {
  if (text.length <= INLINE_MAX_CHARS) return Promise.resolve(countTokens(text));
  return countOffThread([text]).then((counts) => counts[0]!);
}

/** The exact count when it is cheap to take in place (short or remembered texts), else null (ask `promptTokens`). */
export function promptTokensNow(body: Record<string, unknown>): number | null {
  const { known, pending, todo } = split(body);
  return todo.length === 0 && pending.length === 0 ? known : null;
}

/**
 * At start-up: loads the tokenizer on this thread (a stream near its hold's limit is counted here,
 * which would otherwise stall the event loop ≈ 0.3 s the first time) and starts the counting thread,
 * idle and unref'd, which loads its own tables at once (an empty job).
 */
export function warmTokenCounting(): void {
  warmTokenizer();
  try {
    worker ??= spawnCounter();
    resident = true;
    worker.postMessage({ id: 0, texts: [] });
  } catch {
    /* started on first use instead */
  }
}
