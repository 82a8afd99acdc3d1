/**
 * The embedded database (PGlite) behind a worker thread. PGlite is PostgreSQL compiled to
 * WebAssembly: every statement runs synchronously on the thread that owns it, so in-process each
 * batch of request-log rows, each lease apply and each hold blocked the event loop for as long as
 * PostgreSQL worked (p99 4.3 s at 64 connections). Here it runs on its own thread, and the main
 * thread only posts statements and awaits their results.
 *
 * This object is what drizzle's PGlite driver is given as its client; it implements the part of
 * PGlite's interface the driver uses (`query` with `rowMode` and text parsers, `transaction`),
 * plus `close`. Semantics are PGlite's own: one connection; statements outside a transaction wait
 * behind an open one. Errors come back with PostgreSQL's fields (`code` = SQLSTATE, `detail`, …).
 *
 * The worker keeps the process alive only while a statement is in flight, like an in-process
 * PGlite, which holds no handle at all.
 */
import type { Worker } from "node:worker_threads";
import { startWorker } from "../core/worker.js";
import type { PgliteReply, PgliteRequest } from "./pglite-protocol.js";

interface QueryConfig {
  rowMode?: "array" | "object";
  parsers?: Record<string | number, unknown>;
}

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

type Outgoing = PgliteRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export class RemotePglite {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();
  private dead: Error | null = null;
  private ready: Waiter | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (m: PgliteReply) => this.settle(m));
    worker.on("error", (e: Error) => this.fail(e));
    worker.on("exit", (code) => this.fail(new Error(`the embedded database's thread exited (code ${code})`)));
    worker.unref();
  }

  /** Starts the thread and opens the database in `dir` (a data directory or `memory://`, optionally from an image file). */
  static async start(dir: string, postgresqlconf: string[], image?: string): Promise<RemotePglite> {
    const worker = startWorker(import.meta.url, "pglite-worker", { workerData: { dir, postgresqlconf, image } });
    const db = new RemotePglite(worker);
    worker.ref();
    try {
      await new Promise((resolve, reject) => (db.ready = { resolve, reject }));
    } finally {
      worker.unref();
    }
    return db;
  }

  query<T = unknown>(sql: string, params?: unknown[], config?: QueryConfig): Promise<T> {
    return this.send(queryMessage(sql, params, config, undefined)) as Promise<T>;
  }

  /** Runs `fn` in one PGlite transaction: committed when it resolves, rolled back when it throws. */
  async transaction<T>(fn: (tx: { query: RemotePglite["query"] }) => Promise<T>): Promise<T> {
    const { tx } = (await this.send({ op: "begin" })) as { tx: number };
    const client = { query: <R>(sql: string, params?: unknown[], config?: QueryConfig) => this.send(queryMessage(sql, params, config, tx)) as Promise<R> };
    let out: T;
    try {
      out = await fn(client);
    } catch (e) {
      await this.send({ op: "end", tx, commit: false }).catch(() => undefined);
      throw e;
    }
    await this.send({ op: "end", tx, commit: true });
    return out;
  }

  async close(): Promise<void> {
    if (!this.dead) await this.send({ op: "close" }).catch(() => undefined);
    this.dead ??= new Error("the embedded database is closed");
    await this.worker.terminate();
  }

  private send(m: Outgoing): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id });
    });
  }

  private settle(m: PgliteReply): void {
    const w = m.id === 0 ? this.ready : this.waiting.get(m.id);
    if (!w) return;
    if (m.id === 0) this.ready = null;
    else {
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
    }
    if (m.ok) w.resolve(m.result);
    else w.reject(Object.assign(new Error(m.error.message), m.error.fields, { name: m.error.name }));
  }

  private fail(e: Error): void {
    this.dead ??= e;
    this.ready?.reject(e);
    this.ready = null;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}

function queryMessage(sql: string, params: unknown[] | undefined, config: QueryConfig | undefined, tx: number | undefined): Outgoing {
  return {
    op: "query",
    sql,
    ...(params?.length ? { params } : {}),
    ...(tx !== undefined ? { tx } : {}),
    ...(config?.rowMode ? { rowMode: config.rowMode } : {}),
    // drizzle keeps dates and intervals as PostgreSQL's text; the parsers are functions, so the types go instead.
    ...(config?.parsers ? { textTypes: Object.keys(config.parsers).map(Number) } : {}),
  };
}
