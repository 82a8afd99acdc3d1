import { getTableColumns, sql } from "drizzle-orm";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { requestLogs } from "../db/schema/index.js";
import { reviveLogRow, type RequestLogJournal } from "./request-log-journal.js";
import type { RequestLogRow } from "./request-log-row.js";

export type { RequestLogRow } from "./request-log-row.js";

interface Queued {
  row: RequestLogRow;
  final: boolean;
  /** A final row's database form (rowJson), built once: the journal line and the batch element. */
  json?: string;
  /** Writes of this row alone that the database refused for its data. */
  refused?: number;
}

export interface RequestLogWriterOptions {
  db: Db;
  logger: Logger;
  flushIntervalMs?: number;
  maxBatch?: number;
  /** Rows kept in memory while the database is unreachable before the oldest are dropped (and logged). */
  maxQueued?: number;
  /** Final rows are appended here before they are queued, so a crash cannot lose them (request-log-journal.ts). */
  journal?: RequestLogJournal;
  /** A row the database refuses for its data this many times is dropped with an error log line (dead letter). */
  maxRowAttempts?: number;
  /** Told of every finished row (metrics) and every batch write; must not throw. */
  observer?: RequestLogObserver;
}

export interface RequestLogObserver {
  /** The complete row (pending fields merged in), once per request. */
  finished(row: RequestLogRow): void;
  flushed(seconds: number, rows: number, ok: boolean): void;
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
 *
 * One bad row never stops logging: counts are clamped to what the columns hold and text is made
 * storable (NUL, lone surrogates) before writing; a batch the database refuses for its data is
 * split in halves until the refused row is alone, the rest is written, and a row refused
 * `maxRowAttempts` times is dropped with an error log line carrying it (dead letter). A database
 * that is down (any other error) keeps the whole batch queued, with backoff.
 */
export class RequestLogWriter {
  private queue = new Map<string, Queued>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly interval: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private failures = 0;
  private readonly maxRowAttempts: number;
  /** Rows dropped as dead letters since start. */
  deadLettered = 0;

  constructor(private readonly opts: RequestLogWriterOptions) {
    this.interval = opts.flushIntervalMs ?? 50;
    this.maxBatch = opts.maxBatch ?? 500;
    this.maxQueued = opts.maxQueued ?? 100_000;
    this.maxRowAttempts = opts.maxRowAttempts ?? 3;
  }

  begin(row: RequestLogRow): void {
    if (!this.queue.has(row.id)) this.queue.set(row.id, { row, final: false });
    this.schedule();
  }

  finish(row: RequestLogRow): void {
    const prev = this.queue.get(row.id);
    const full = prev ? { ...prev.row, ...row } : row;
    const json = rowJson(full);
    if (this.opts.journal) {
      try {
        this.opts.journal.append(json);
      } catch (e) {
        this.opts.logger.error({ err: (e as Error).message, requestId: row.id }, "request log journal: append failed");
      }
    }
    this.queue.set(row.id, { row: full, final: true, json });
    if (this.opts.observer) {
      try {
        this.opts.observer.finished(full);
      } catch (e) {
        this.opts.logger.warn({ err: (e as Error).message }, "request log observer failed");
      }
    }
    if (this.queue.size > this.maxQueued) {
      const oldest = this.queue.keys().next().value;
      if (oldest !== undefined) {
        this.queue.delete(oldest);
        this.opts.logger.error({ requestId: oldest }, "request log queue full: dropped the oldest row");
      }
    }
    this.schedule();
  }

  /**
   * Queues the final rows a dead process left in its journal (`RequestLogJournal.recover`) as if
   * they had just finished here: they go into this process's journal before the old files are
   * deleted, and the upsert never overwrites a row already final in the database.
   */
  replay(rows: ReadonlyArray<Record<string, unknown>>): void {
    for (const row of rows) this.finish(reviveLogRow(row));
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
      const t0 = this.opts.observer ? performance.now() : 0;
      try {
        await this.writeIsolating(batch);
        this.failures = 0;
        this.opts.observer?.flushed((performance.now() - t0) / 1000, batch.length, true);
      } catch (e) {
        this.opts.observer?.flushed((performance.now() - t0) / 1000, batch.length, false);
        this.failures++;
        this.opts.logger.error({ err: (e as Error).message, rows: batch.length }, "request log write failed; will retry");
        for (const q of batch) {
          const now = this.queue.get(q.row.id);
          if (!now || (!now.final && q.final)) this.queue.set(q.row.id, q);
        }
        return;
      }
    }
    // Everything journaled so far is in the database now (the queue is empty).
    this.opts.journal?.truncate();
  }

  /**
   * Writes the batch; when the database refuses it for its data, writes the halves separately so
   * the refused row ends up alone and everything else is written. Throws on any other error (the
   * caller re-queues the batch), and when no row at all could be written (then it is not the data
   * of one row but the statement or the schema: nothing is dropped).
   */
  private async writeIsolating(batch: Queued[]): Promise<void> {
    const refused: Array<{ q: Queued; err: unknown }> = [];
    let written = 0;
    const attempt = async (part: Queued[]): Promise<void> => {
      try {
        await this.write(part);
        written += part.length;
      } catch (e) {
        if (!isDataError(e)) throw e;
        if (part.length === 1) refused.push({ q: part[0]!, err: e });
        else {
          const mid = part.length >> 1;
          await attempt(part.slice(0, mid));
          await attempt(part.slice(mid));
        }
      }
    };
    await attempt(batch);
    if (refused.length === 0) return;
    if (written === 0 && batch.length > 1) throw refused[0]!.err;
    for (const { q, err } of refused) {
      q.refused = (q.refused ?? 0) + 1;
      if (q.refused >= this.maxRowAttempts) {
        this.deadLettered++;
        this.opts.logger.error(
          { err: errorText(err), sqlstate: errorCode(err), attempts: q.refused, row: safeRow(q.row) },
          "request log: the database refused this row; dropped (dead letter)",
        );
        continue;
      }
      const now = this.queue.get(q.row.id);
      if (!now || (!now.final && q.final)) this.queue.set(q.row.id, q);
    }
  }

  private async write(batch: Queued[]): Promise<void> {
    const pending = batch.filter((q) => !q.final);
    const finals = batch.filter((q) => q.final);
    // One parameter per batch (a JSON array expanded by json_populate_recordset): building a
    // drizzle insert value by value cost more CPU than the rest of the request.
    if (pending.length) {
      await this.opts.db.execute(sql`insert into request_logs (${sql.raw(COLS)}) select ${sql.raw(COLS)} from json_populate_recordset(null::request_logs, ${toJson(pending)}::json) on conflict (id) do nothing`);
    }
    if (finals.length) {
      await this.opts.db.execute(
        sql`insert into request_logs (${sql.raw(COLS)}) select ${sql.raw(COLS)} from json_populate_recordset(null::request_logs, ${toJson(finals)}::json) on conflict (id) do update set ${sql.raw(UPDATE_SET)} where request_logs.status in ('pending', 'interrupted')`,
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

const DEFAULT_ENTRIES = Object.entries(DEFAULTS).map(([k, def]) => [k, SNAKE.get(k)!, def] as const);

/** Queued rows → one JSON array for json_populate_recordset (final rows bring their JSON along). */
function toJson(rows: Queued[]): string {
  let out = "[";
  for (let i = 0; i < rows.length; i++) out += (i ? "," : "") + (rows[i]!.json ?? rowJson(rows[i]!.row));
  return out + "]";
}

/**
 * A row's database form: snake_case keys, counts clamped to their columns, bigint as strings,
 * dates as ISO (PostgreSQL parses both), text made storable. The journal keeps the same line
 * (reviveLogRow reads it back), so a final row is serialized once.
 */
function rowJson(row: RequestLogRow): string {
  const r = row as Record<string, unknown>;
  const o: Record<string, unknown> = {};
  for (const [k, sk, def] of DEFAULT_ENTRIES) o[sk] = r[k] ?? def;
  for (const k in r) {
    const v = r[k];
    if (v === undefined) continue;
    const sk = SNAKE.get(k);
    if (!sk) continue;
    if (typeof v === "number") o[sk] = clampColumn(sk, v);
    else o[sk] = typeof v === "bigint" ? v.toString() : v;
  }
  if (o.created_at === undefined) o.created_at = new Date();
  return storable(stringify(o));
}

const INT4_MAX = 2 ** 31 - 1;
/** integer columns; the token columns are bigint (any count an upstream may report). */
const INT4_COLUMNS = new Set(["latency_ms", "ttft_ms", "upstream_status", "attempts"]);
const BIGINT_COLUMNS = new Set(["prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "total_tokens"]);

/** A number the column can hold: counts are integers ≥ 0 within the column's range. */
function clampColumn(col: string, v: number): number | null {
  if (!Number.isFinite(v)) return BIGINT_COLUMNS.has(col) || INT4_COLUMNS.has(col) ? null : v;
  if (INT4_COLUMNS.has(col)) return Math.min(INT4_MAX, Math.max(-INT4_MAX, Math.round(v)));
  if (BIGINT_COLUMNS.has(col)) return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(v)));
  return v;
}

/**
 * PostgreSQL text and jsonb refuse NUL and unpaired surrogates, which a client can put in a model
 * name or an upstream in an error. JSON.stringify writes exactly those (and never a valid pair) as
 * `\u0000` / `\udXXX` escapes: they become U+FFFD (an escaped backslash before `u` is left alone).
 */
function storable(json: string): string {
  if (!json.includes("\\u")) return json;
  return json.replace(/(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi, "$1\\ufffd");
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): this row's data, not the database. */
function isDataError(e: unknown): boolean {
  const c = errorCode(e);
  return c !== null && (c.startsWith("22") || c.startsWith("23"));
}

function errorCode(e: unknown): string | null {
  for (let x = e as { code?: unknown; cause?: unknown } | undefined, i = 0; x && i < 4; x = x.cause as typeof x, i++) {
    if (typeof x.code === "string" && /^[0-9A-Z]{5}$/.test(x.code)) return x.code;
  }
  return null;
}

function errorText(e: unknown): string {
  const c = (e as { cause?: { message?: string } })?.cause;
  return c?.message ?? (e as Error)?.message ?? String(e);
}

/** The row for the dead-letter log line (bigints as strings; rows carry no secrets). */
function safeRow(row: RequestLogRow): Record<string, unknown> {
  return JSON.parse(JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? v.toString() : v))) as Record<string, unknown>;
}

/** Nested bigints (e.g. inside `meta`) need a replacer; the common case doesn't pay for one. */
function stringify(o: Record<string, unknown>): string {
  try {
    return JSON.stringify(o);
  } catch {
    return JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  }
}
