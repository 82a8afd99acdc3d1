/**
 * Stream progress: what a streaming response may have delivered, written to its hold row before it
 * is delivered, so that a crash (kill -9, OOM, power) never leaves output unbilled.
 *
 * The relay reports the completion tokens it is about to send (`report`). The hold row carries an
 * upper bound (`progress_completion_tokens`) recorded *ahead* of delivery in steps of `aheadTokens`:
 * a write is started when the stream gets within half a step of the recorded bound, so in steady
 * state it is done before the stream reaches it and nothing waits. Only a stream that outruns the
 * database waits for the write (`report` then returns a promise). After a crash the sweeper charges
 * the recorded bound: at least what was delivered, at most `aheadTokens` more (never more than the
 * hold's max_tokens, unless the upstream exceeded it).
 *
 * Every write also extends the hold's expiry (`expires_at ≥ now() + extendMs`), and a heartbeat
 * rewrites every live stream's row each `heartbeatMs`: a live stream's hold never expires under the
 * sweeper, however long the provider lets it run.
 *
 * All open streams of the process share one UPDATE per write (one JSON parameter), one in flight at
 * a time (group commit). A failing database never stalls a stream: waiters are released after
 * `maxWaitMs` or on the error, and the write is retried on the next report/heartbeat.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";

/** Where a leased stream's progress goes instead of a hold row (lease-streams.ts: the lease journal). */
export interface LeasedProgressSink {
  owns(requestId: string): boolean;
  /** Resolves once every item is durable (the journal's group commit); rejects when it can't be. */
  write(items: ReadonlyArray<{ id: string; p: number; c: number }>): Promise<void>;
}

export interface StreamProgressOptions {
  db: Db;
  /** Leased streams (no hold row): their bound is journaled locally, and their lease is kept alive by its book. */
  leased?: LeasedProgressSink | null;
  logger?: Logger;
  /** Completion tokens recorded ahead of delivery (the most a crash can over-bill a stream by). */
  aheadTokens?: number;
  /** Live streams' holds are re-extended this often. */
  heartbeatMs?: number;
  /** Each write pushes the hold's expiry to at least now + this. */
  extendMs?: number;
  /** Longest a stream waits for its progress to be recorded before sending anyway. */
  maxWaitMs?: number;
}

export interface StreamStart {
  /** Prompt tokens the upstream will bill (local count). */
  promptTokens: number;
  /** The hold's max_tokens, when known: the recorded bound does not run ahead of it. */
  maxTokens?: number | null;
}

interface Entry {
  prompt: number;
  maxTokens: number | null;
  /** Highest count reported. */
  produced: number;
  /** Bound to record next (≥ produced). */
  wanted: number;
  /** Bound known to be in the database. */
  recorded: number;
  dirty: boolean;
  waiters: Array<{ upTo: number; resolve: () => void }>;
}

export class StreamProgress {
  private readonly live = new Map<string, Entry>();
  private writing: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private lastErrorLog = 0;
  private readonly ahead: number;
  private readonly extendMs: number;
  private readonly maxWaitMs: number;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;
  /** Writes done / failed (for tests and metrics). */
  readonly stats = { writes: 0, failures: 0, waits: 0 };

  constructor(private readonly opts: StreamProgressOptions) {
    this.ahead = Math.max(1, opts.aheadTokens ?? 64);
    this.extendMs = opts.extendMs ?? 15 * 60_000;
    this.maxWaitMs = opts.maxWaitMs ?? 2_000;
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.live.size;
  }

  /** A stream begins: records the prompt and a first bound (resolves when written, or failed). */
  start(requestId: string, s: StreamStart): Promise<void> {
    const e: Entry = { prompt: Math.max(0, Math.floor(s.promptTokens)), maxTokens: s.maxTokens ?? null, produced: 0, wanted: 0, recorded: -1, dirty: true, waiters: [] };
    e.wanted = this.bound(e, 0);
    this.live.set(requestId, e);
    this.kick();
    return this.wait(e, 0) ?? Promise.resolve();
  }

  /** The exact prompt count replaces the upper bound a stream started with (written with the next write). */
  refinePrompt(requestId: string, promptTokens: number): void {
    const e = this.live.get(requestId);
    if (!e || e.prompt === promptTokens) return;
    e.prompt = Math.max(0, Math.floor(promptTokens));
    e.dirty = true;
    this.kick();
  }

  /**
   * The stream is about to deliver output bringing its total to `completionTokens`. Returns
   * undefined when that is already covered by the recorded bound (send at once), else a promise to
   * await before sending.
   */
  report(requestId: string, completionTokens: number): Promise<void> | undefined {
    const e = this.live.get(requestId);
    if (!e || completionTokens <= e.produced) return undefined;
    e.produced = completionTokens;
    if (completionTokens + this.ahead / 2 > e.wanted) {
      const next = this.bound(e, completionTokens);
      if (next > e.wanted) {
        e.wanted = next;
        e.dirty = true;
        this.kick();
      }
    }
    return this.wait(e, completionTokens);
  }

  /** The stream ended (its settlement takes over); no more writes for it. */
  end(requestId: string): void {
    const e = this.live.get(requestId);
    if (!e) return;
    this.live.delete(requestId);
    for (const w of [...e.waiters]) w.resolve();
  }

  /** Waits for the write in flight and any queued one. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    await this.flush();
    for (const id of [...this.live.keys()]) this.end(id);
  }

  private bound(e: Entry, produced: number): number {
    const b = produced + this.ahead;
    // Output past max_tokens means the upstream ignored it: then record exactly what is sent.
    return e.maxTokens !== null && e.maxTokens > 0 ? Math.max(produced, Math.min(b, e.maxTokens)) : b;
  }

  private wait(e: Entry, upTo: number): Promise<void> | undefined {
    if (e.recorded >= upTo) return undefined;
    this.stats.waits++;
    return new Promise<void>((resolve) => {
      const w = { upTo, resolve: () => undefined as void };
      const timer = setTimeout(() => done(), this.maxWaitMs);
      const done = () => {
        clearTimeout(timer);
        const i = e.waiters.indexOf(w);
        if (i !== -1) e.waiters.splice(i, 1);
        resolve();
      };
      w.resolve = done;
      e.waiters.push(w);
    });
  }

  private beat(): void {
    if (this.live.size === 0) return;
    // A leased stream has no hold to keep alive (its lease is renewed while it holds it).
    for (const [id, e] of this.live) if (!this.opts.leased?.owns(id)) e.dirty = true;
    this.kick();
  }

  private kick(): void {
    if (this.closed && this.live.size === 0) return;
    if (this.writing) {
      this.again = true;
      return;
    }
    this.writing = this.writeLoop().finally(() => {
      this.writing = null;
    });
  }

  private async writeLoop(): Promise<void> {
    do {
      this.again = false;
      const batch: Array<[string, Entry, number]> = [];
      for (const [id, e] of this.live) {
        if (!e.dirty) continue;
        e.dirty = false;
        batch.push([id, e, e.wanted]);
      }
      if (batch.length === 0) return;
      const leased = this.opts.leased;
      const inJournal: Array<[string, Entry, number]> = [];
      const onHolds: Array<[string, Entry, number]> = [];
      for (const b of batch) (leased?.owns(b[0]) ? inJournal : onHolds).push(b);
      const [holdsOut, journalOut] = await Promise.allSettled([
        onHolds.length ? this.writeHolds(onHolds) : undefined,
        inJournal.length ? leased!.write(inJournal.map(([id, e, c]) => ({ id, p: e.prompt, c }))) : undefined,
      ]);
      const failed: Array<[string, Entry, number]> = [];
      let err: unknown = null;
      for (const [part, out] of [
        [onHolds, holdsOut],
        [inJournal, journalOut],
      ] as const) {
        if (out.status === "rejected") {
          failed.push(...part);
          err = out.reason;
          continue;
        }
        for (const [, e, c] of part) {
          if (c > e.recorded) e.recorded = c;
          // resolve() removes the waiter from e.waiters: iterate over a copy.
          for (const w of e.waiters.filter((x) => x.upTo <= e.recorded)) w.resolve();
        }
      }
      if (failed.length === 0) {
        this.stats.writes++;
        this.failures = 0;
        continue;
      }
      this.stats.failures++;
      this.failures++;
      for (const [, e] of failed) {
        e.dirty = true;
        // A database (or disk) that can't take the write must not stall the client: send, and retry later.
        for (const w of [...e.waiters]) w.resolve();
      }
      const now = Date.now();
      if (now - this.lastErrorLog > 10_000) {
        this.lastErrorLog = now;
        this.opts.logger?.error({ err: (err as Error)?.message, streams: failed.length }, "stream progress: could not record; a crash now would under-bill these streams");
      }
      // Back off; the next report or heartbeat retries.
      await new Promise((r) => setTimeout(r, Math.min(2_000, 50 * 2 ** this.failures)).unref());
      return;
    } while (this.again);
  }

  private async writeHolds(batch: ReadonlyArray<[string, Entry, number]>): Promise<void> {
    const payload = JSON.stringify(batch.map(([id, e, c]) => ({ id, p: e.prompt, c })));
    await this.opts.db.execute(sql`update holds h set
        progress_prompt_tokens = v.p,
        progress_completion_tokens = greatest(coalesce(h.progress_completion_tokens, 0), v.c),
        progress_at = now(),
        expires_at = greatest(h.expires_at, now() + ${this.extendMs} * interval '1 millisecond')
      from json_to_recordset(${payload}::json) as v(id text, p integer, c integer)
      where h.request_id = v.id and h.status = 'open'`);
  }
}

