/**
 * A local append-only journal of final request-log rows, so that a row the writer still holds in
 * memory survives the process dying (kill -9, OOM): every final row is appended with a synchronous
 * write() before the writer queues it — once in the OS page cache it outlives the process — and the
 * file is fdatasync'd in batches (every `fsyncMs`) for power loss. When everything the writer held
 * is in the database the journal is truncated.
 *
 * One file per process (`<pid>-<random>.jsonl` in the journal directory). At start-up a process
 * replays the files of processes that are no longer running (`recover`), then deletes them. The
 * replay is idempotent: the writer's upsert completes a `pending`/`interrupted` row and never
 * overwrites a final one. A torn last line (crash mid-append) is skipped.
 */
import { closeSync, fdatasync, ftruncateSync, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { processAlive, readJsonLines, removeFile } from "../core/journal-files.js";
import type { Logger } from "../core/logger.js";
import type { RequestLogRow } from "./request-log-row.js";

export interface RequestLogJournalOptions {
  dir: string;
  logger?: Logger;
  /** fdatasync period (ms); 0 = never (a process crash still loses nothing; a power loss may). */
  fsyncMs?: number;
}

export class RequestLogJournal {
  readonly path: string;
  private fd: number | null;
  private dirty = false;
  private bytes = 0;
  private readonly timer: NodeJS.Timeout | null;
  private syncing = false;

  constructor(private readonly opts: RequestLogJournalOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.path = join(opts.dir, `${process.pid}-${randomBytes(4).toString("hex")}.jsonl`);
    this.fd = openSync(this.path, "a");
    const every = opts.fsyncMs ?? 100;
    this.timer = every > 0 ? setInterval(() => this.sync(), every) : null;
    this.timer?.unref();
  }

  /** Appends one row, already serialized by the writer (one line of JSON). Throws only if the disk refuses the write. */
  append(json: string): void {
    if (this.fd === null) return;
    this.bytes += writeSync(this.fd, json + "\n");
    this.dirty = true;
  }

  /** Bytes written since the last truncation. */
  get size(): number {
    return this.bytes;
  }

  /** Everything appended so far is in the database: start over. */
  truncate(): void {
    if (this.fd === null || this.bytes === 0) return;
    ftruncateSync(this.fd);
    this.bytes = 0;
  }

  private sync(): void {
    if (!this.dirty || this.syncing || this.fd === null) return;
    this.dirty = false;
    this.syncing = true;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err) this.opts.logger?.warn({ err: err.message }, "request log journal: fdatasync failed");
    });
  }

  /** Closes the file; removes it when it holds nothing left to replay. */
  close(removeIfEmpty = true): void {
    if (this.timer) clearInterval(this.timer);
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    if (removeIfEmpty && this.bytes === 0) removeFile(this.path);
  }

  /**
   * Rows left by processes that died, newest version of each row id; their files are returned
   * for deletion once the rows are safely queued (`discard`).
   */
  static recover(dir: string, logger?: Logger): { rows: Array<Record<string, unknown>>; files: string[] } {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return { rows: [], files: [] };
    }
    const byId = new Map<string, Record<string, unknown>>();
    const files: string[] = [];
    for (const name of names) {
      const m = /^(\d+)-[0-9a-f]+\.jsonl$/.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid !== process.pid && processAlive(pid)) continue;
      const path = join(dir, name);
      files.push(path);
      let lines: { values: unknown[]; torn: number };
      try {
        lines = readJsonLines(path);
      } catch {
        continue;
      }
      const { values, torn } = lines;
      for (const v of values) {
        const row = v as Record<string, unknown> | null;
        if (row && typeof row.id === "string") byId.set(row.id, row);
      }
      if (torn) logger?.warn({ file: name, torn }, "request log journal: skipped torn lines");
    }
    return { rows: [...byId.values()], files };
  }

  static discard(files: readonly string[]): void {
    for (const f of files) removeFile(f);
  }
}

const DATE_FIELDS = ["createdAt", "completedAt"] as const;
const MICROS_FIELDS = ["upstreamCostMicros", "priceMicros", "profitMicros"] as const;

/** snake_case column name → the row field (`upstream_cost_micros` → `upstreamCostMicros`). */
const camel = (k: string) => k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * A journaled row back in the writer's shape: lines are the database form (snake_case keys, dates
 * and bigints as strings); journals written before that kept the row's own field names.
 */
export function reviveLogRow(row: Record<string, unknown>): RequestLogRow {
  const r: Record<string, unknown> = {};
  for (const k in row) r[k.includes("_") ? camel(k) : k] = row[k];
  for (const k of DATE_FIELDS) if (typeof r[k] === "string") r[k] = new Date(r[k] as string);
  for (const k of MICROS_FIELDS) if (typeof r[k] === "string" && /^-?\d+$/.test(r[k] as string)) r[k] = BigInt(r[k] as string);
  return r as RequestLogRow;
}
