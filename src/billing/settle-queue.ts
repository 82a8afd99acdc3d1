/**
 * Group commit. The first call goes to the database at once; calls that arrive while one is in
 * flight queue up and go together in the next database call (up to `maxBatch`). Every caller still
 * waits for its own row to commit, so nothing is acknowledged before it is durable; under load one
 * round-trip carries many holds or settlements, which is what keeps billing's CPU per request low.
 * A batch that fails as a whole (e.g. a deadlock with another process) is retried item by item.
 *
 * For settlements the hold already protects the money while one waits, and a process that dies
 * with a queue is repaired by the sweeper from the request log. `flush()` / `close()` drain the
 * queue at shutdown.
 */
import type { Logger } from "../core/logger.js";

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export interface BatchOps<I, O> {
  one(item: I): Promise<O>;
  /** Results in any order, keyed by `key(item)`; a missing or `retry` result falls back to `one`. */
  many(items: readonly I[]): Promise<Map<string, O>>;
  key(item: I): string;
  /** Results that should be retried alone (e.g. an item that failed inside the batch). */
  retry?(o: O): boolean;
}

export class GroupCommit<I, O> {
  private queue: Array<Pending<I, O>> = [];
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly ops: BatchOps<I, O>,
    private readonly maxBatch: number,
    private readonly logger?: Logger,
    private readonly name = "billing",
  ) {}

  submit(item: I): Promise<O> {
    if (this.closed || this.maxBatch <= 1) return this.ops.one(item);
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // A microtask lets calls of the same tick share the first round-trip.
      this.running ??= Promise.resolve().then(() => this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.run(batch);
      }
    } finally {
      this.running = null;
      if (this.queue.length > 0) this.running = Promise.resolve().then(() => this.drain());
    }
  }

  private async single(p: Pending<I, O>): Promise<void> {
    try {
      p.resolve(await this.ops.one(p.item));
    } catch (e) {
      p.reject(e);
    }
  }

  private async run(batch: Array<Pending<I, O>>): Promise<void> {
    if (batch.length === 1) return this.single(batch[0]!);
    let results: Map<string, O>;
    try {
      results = await this.ops.many(batch.map((p) => p.item));
    } catch (e) {
      this.logger?.warn({ err: (e as Error).message, n: batch.length }, `${this.name}: batch failed, retrying one by one`);
      for (const p of batch) await this.single(p);
      return;
    }
    for (const p of batch) {
      const r = results.get(this.ops.key(p.item));
      if (r !== undefined && !this.ops.retry?.(r)) p.resolve(r);
      else await this.single(p);
    }
  }

  /** Resolves once everything submitted so far is committed (or has failed). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drains the queue; later calls go straight to the database. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  get pending(): number {
    return this.queue.length;
  }
}
