import { getTableColumns, sql } from "drizzle-orm";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { requestLogs } from "../db/schema/index.js";

export type RequestLogRow = typeof requestLogs.$inferInsert;

interface Queued {
  row: RequestLogRow;
  final: boolean;
}

export interface RequestLogWriterOptions {
  db: Db;
  logger: Logger;
  flushIntervalMs?: number;
  maxBatch?: number;
  /** Rows kept in memory while the database is unreachable before the oldest are dropped (and logged). */
  maxQueued?: number;
}

const FINAL_COLUMNS = [
  "served_model",
  "provider_id",
  "upstream_account_id",
  "status",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "reasoning_tokens",
  "total_tokens",
  "estimated",
  "latency_ms",
  "ttft_ms",
  "upstream_status",
  "error_code",
  "usage_anomaly",
  "upstream_cost_micros",
  "price_micros",
  "profit_micros",
  "cache_hit",
  "attempts",
  "meta",
  "completed_at",
] as const;

/**
 * Writes request-log rows off the response path, in batches. A request's `pending` row and its final
 * row are coalesced when both are still queued; a final row overwrites a pending one but never the
 * reverse. `close()` flushes everything (called on SIGTERM after in-flight requests drain).
 */
export class RequestLogWriter {
  private queue = new Map<string, Queued>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly interval: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private failures = 0;

  constructor(private readonly opts: RequestLogWriterOptions) {
    this.interval = opts.flushIntervalMs ?? 50;
    this.maxBatch = opts.maxBatch ?? 500;
    this.maxQueued = opts.maxQueued ?? 100_000;
  }

  begin(row: RequestLogRow): void {
    if (!this.queue.has(row.id)) this.queue.set(row.id, { row, final: false });
    this.schedule();
  }

  finish(row: RequestLogRow): void {
    const prev = this.queue.get(row.id);
    this.queue.set(row.id, { row: prev ? { ...prev.row, ...row } : row, final: true });
    if (this.queue.size > this.maxQueued) {
      const oldest = this.queue.keys().next().value;
      if (oldest !== undefined) {
        this.queue.delete(oldest);
        this.opts.logger.error({ requestId: oldest }, "request log queue full: dropped the oldest row");
      }
    }
    this.schedule();
  }

  get queued(): number {
    return this.queue.size;
  }

  private schedule(): void {
    if (this.timer || this.flushing) return;
    const delay = this.failures ? Math.min(5000, this.interval * 2 ** this.failures) : this.interval;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  /** Writes everything queued now; resolves when written (or failed and re-queued). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.queue.size ? this.flush() : undefined));
    if (this.queue.size === 0) return Promise.resolve();
    this.flushing = this.writeBatches().finally(() => {
      this.flushing = null;
      if (this.queue.size) this.schedule();
    });
    return this.flushing;
  }

  private async writeBatches(): Promise<void> {
    while (this.queue.size) {
      const batch: Queued[] = [];
      for (const [id, q] of this.queue) {
        batch.push(q);
        this.queue.delete(id);
        if (batch.length >= this.maxBatch) break;
      }
      try {
        await this.write(batch);
        this.failures = 0;
      } catch (e) {
        this.failures++;
        this.opts.logger.error({ err: (e as Error).message, rows: batch.length }, "request log write failed; will retry");
        for (const q of batch) {
          const now = this.queue.get(q.row.id);
          if (!now || (!now.final && q.final)) this.queue.set(q.row.id, q);
        }
        return;
      }
    }
  }

  private async write(batch: Queued[]): Promise<void> {
    const pending = batch.filter((q) => !q.final).map((q) => q.row);
    const finals = batch.filter((q) => q.final).map((q) => q.row);
    // One parameter per batch (a JSON array expanded by json_populate_recordset): building a
    // drizzle insert value by value cost more CPU than the rest of the request.
    if (pending.length) {
      await this.opts.db.execute(sql`insert into request_logs (${sql.raw(COLS)}) select ${sql.raw(COLS)} from json_populate_recordset(null::request_logs, ${toJson(pending)}::json) on conflict (id) do nothing`);
    }
    if (finals.length) {
      await this.opts.db.execute(
        sql`insert into request_logs (${sql.raw(COLS)}) select ${sql.raw(COLS)} from json_populate_recordset(null::request_logs, ${toJson(finals)}::json) on conflict (id) do update set ${sql.raw(UPDATE_SET)} where request_logs.status = 'pending'`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    for (let i = 0; i < 5 && (this.queue.size || this.flushing); i++) await this.flush();
  }
}

const ALL_COLUMNS = Object.keys(getTableColumns(requestLogs)).map(toSnake);
const COLS = ALL_COLUMNS.join(", ");
const UPDATE_SET = FINAL_COLUMNS.map((c) => `${c} = excluded.${c}`).join(", ");
const DEFAULTS: Partial<RequestLogRow> = { stream: false, status: "pending", estimated: false, cacheHit: false, attempts: 1 };

function toSnake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const SNAKE = new Map<string, string>(Object.keys(getTableColumns(requestLogs)).map((k) => [k, toSnake(k)]));

/** Rows → one JSON array with snake_case keys; bigint as strings, dates as ISO (PostgreSQL parses both). */
function toJson(rows: RequestLogRow[]): string {
  let out = "[";
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]! as Record<string, unknown>;
    const o: Record<string, unknown> = {};
    for (const [k, def] of Object.entries(DEFAULTS)) o[SNAKE.get(k)!] = r[k] ?? def;
    for (const k in r) {
      const v = r[k];
      if (v === undefined) continue;
      const sk = SNAKE.get(k);
      if (sk) o[sk] = typeof v === "bigint" ? v.toString() : v;
    }
    if (o.created_at === undefined) o.created_at = new Date();
    out += (i ? "," : "") + stringify(o);
  }
  return out + "]";
}

/** Nested bigints (e.g. inside `meta`) need a replacer; the common case doesn't pay for one. */
function stringify(o: Record<string, unknown>): string {
  try {
    return JSON.stringify(o);
  } catch {
    return JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  }
}
