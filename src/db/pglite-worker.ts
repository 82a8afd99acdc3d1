/**
 * The embedded database on its own thread (see pglite-remote.ts for why): one PGlite, driven by
 * messages from the main thread. Queries outside a transaction go straight to PGlite, which
 * queues them behind any open transaction exactly as it does in-process; a transaction is a
 * PGlite transaction whose statements arrive as messages until the main thread ends it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { PGlite, type QueryOptions, type Transaction } from "@electric-sql/pglite";
import { readImage } from "./pglite-image.js";
import type { PgliteReply, PgliteRequest } from "./pglite-protocol.js";

const { dir, postgresqlconf, image } = workerData as { dir: string; postgresqlconf: string[]; image?: string };
const port = parentPort!;

/** Thrown out of a transaction the main thread rolls back (PGlite then issues ROLLBACK). */
const ROLLBACK = Symbol("rollback");
/** A text parser that keeps the value as PostgreSQL wrote it (drizzle's choice for dates and intervals). */
const asText = (v: string) => v;

interface OpenTx {
  queue: PgliteRequest[];
  wake: (() => void) | null;
}
const txs = new Map<number, OpenTx>();
let nextTx = 1;

function reply(m: PgliteReply): void {
  port.postMessage(m);
}

function failure(id: number, e: unknown): PgliteReply {
  const err = e as Error & Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(err)) {
    const v = err[k];
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) fields[k] = v;
  }
  return { id, ok: false, error: { name: err?.name ?? "Error", message: err?.message ?? String(e), fields } };
}

function optionsOf(m: Extract<PgliteRequest, { op: "query" }>): QueryOptions | undefined {
  if (!m.rowMode && !m.textTypes) return undefined;
  const o: QueryOptions = {};
  if (m.rowMode) o.rowMode = m.rowMode;
  if (m.textTypes) o.parsers = Object.fromEntries(m.textTypes.map((t) => [t, asText]));
  return o;
}

async function run(db: PGlite | Transaction, m: Extract<PgliteRequest, { op: "query" }>): Promise<void> {
  try {
    reply({ id: m.id, ok: true, result: await db.query(m.sql, m.params, optionsOf(m)) });
  } catch (e) {
    reply(failure(m.id, e));
  }
}

function begin(pg: PGlite, id: number): void {
  const txId = nextTx++;
  const box: OpenTx = { queue: [], wake: null };
  txs.set(txId, box);
  let end: Extract<PgliteRequest, { op: "end" }> | null = null;
  const next = async (): Promise<PgliteRequest> => {
    while (box.queue.length === 0) await new Promise<void>((r) => (box.wake = r));
    return box.queue.shift()!;
  };
  let started = false;
  pg.transaction(async (tx) => {
    started = true;
    reply({ id, ok: true, result: { tx: txId } });
    for (;;) {
      const m = await next();
      if (m.op === "end") {
        end = m;
        if (!m.commit) throw ROLLBACK;
        return;
      }
      if (m.op === "query") await run(tx, m);
    }
  }).then(
    () => end && reply({ id: end.id, ok: true, result: {} }),
    (e) => {
      if (!started) reply(failure(id, e));
      else if (end) reply(e === ROLLBACK ? { id: end.id, ok: true, result: {} } : failure(end.id, e));
    },
  ).finally(() => txs.delete(txId));
}

let pg: PGlite;
try {
  pg = await PGlite.create(dir, { postgresqlconf, ...(image ? { loadDataDir: await readImage(image) } : {}) });
} catch (e) {
  reply(failure(0, e));
  throw e;
}
port.on("message", (m: PgliteRequest) => {
  if (m.op === "begin") return begin(pg, m.id);
  if (m.op === "close") {
    void pg.close().then(
      () => reply({ id: m.id, ok: true, result: {} }),
      (e) => reply(failure(m.id, e)),
    );
    return;
  }
  if (m.tx !== undefined) {
    const box = txs.get(m.tx);
    if (!box) return reply(failure(m.id, new Error(`transaction ${m.tx} is not open`)));
    box.queue.push(m);
    box.wake?.();
    box.wake = null;
    return;
  }
  if (m.op === "query") void run(pg, m);
});
reply({ id: 0, ok: true, result: { ready: true } });
