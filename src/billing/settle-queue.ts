/**
 * Group commit for settlements. The first settlement goes to the database at once; settlements
 * that arrive while a call is in flight queue up and go together in the next call (up to
 * `maxBatch`). Every caller still waits for its own row to commit, so nothing is acknowledged
 * before it is durable; under load one round-trip carries many settlements. The hold already
 * protects the money while a settlement waits, and a process that dies with a queue is repaired
 * by the sweeper from the request log. `flush()` / `close()` drain the queue at shutdown.
 */
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { settleHold, settleHolds, type SettleCall, type SettleOutcome } from "./holds.js";

interface Pending {
  call: SettleCall;
  resolve: (o: SettleOutcome) => void;
  reject: (e: unknown) => void;
}

export class SettleQueue {
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly maxBatch: number,
    private readonly logger?: Logger,
  ) {}

  submit(call: SettleCall): Promise<SettleOutcome> {
    if (this.closed) return settleHold(this.db, call);
    return new Promise<SettleOutcome>((resolve, reject) => {
      this.queue.push({ call, resolve, reject });
      // A microtask lets settlements of the same tick share the first call.
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
      // A submit that raced the finally block starts the next drain.
      if (this.queue.length > 0) this.running = Promise.resolve().then(() => this.drain());
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0]!;
      try {
        p.resolve(await settleHold(this.db, p.call));
      } catch (e) {
        p.reject(e);
      }
      return;
    }
    let results: Map<string, SettleOutcome>;
    try {
      results = await settleHolds(this.db, batch.map((p) => p.call));
    } catch (e) {
      this.logger?.warn({ err: e, n: batch.length }, "billing: batch settle failed");
      for (const p of batch) p.reject(e);
      return;
    }
    for (const p of batch) {
      const r = results.get(p.call.requestId);
      if (r && r.status !== "error") {
        p.resolve(r);
        continue;
      }
      // An item that failed inside the batch (e.g. a deadlock with another process) gets one retry on its own.
      try {
        p.resolve(await settleHold(this.db, p.call));
      } catch (e) {
        p.reject(e);
      }
    }
  }

  /** Resolves once everything submitted so far is committed (or has failed). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  get pending(): number {
    return this.queue.length;
  }
}
