/**
 * The lease journal: a local append-only file of settled charges (lease-store's LeasedCharge), the
 * durability point of a leased request. `append` resolves once the record is on disk (write +
 * fdatasync); records that arrive while a sync is in flight share the next one (group commit), so
 * under load one fdatasync covers many requests. The answer with `usage.cost` leaves only after
 * that, and the database gets the charge later in a batch (lease.ts), idempotently.
 *
 * Files are segments `lease-<pid>-<tag>-<n>.jsonl`; a segment is deleted once every record in it is
 * in the database and a newer one is being written. At start-up a process replays the segments of
 * processes that no longer run (`recover`): same host, same directory. A torn last line (a crash
 * mid-write) is skipped — its request never got its answer.
 */
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { processAlive, readJsonLines, removeFile } from "../core/journal-files.js";
import type { Logger } from "../core/logger.js";
import type { LeasedCharge } from "./lease-store.js";

/** Tags of the journals alive in this process (several billing instances may share one process in tests). */
const LIVE = new Set<string>();
const SEGMENT_BYTES = 4 << 20;
const NAME = /^lease-(\d+)-([0-9a-z]+)-(\d+)\.jsonl$/;

export interface Segment {
  path: string;
  /** Records written to it and not yet applied. */
  pending: number;
  bytes: number;
}

interface Waiter {
  resolve: (s: Segment) => void;
  reject: (e: unknown) => void;
}

export class LeaseJournal {
  private fd: number | null = null;
  private seg: Segment | null = null;
  private n = 0;
  private buf: string[] = [];
  private waiters: Waiter[] = [];
  private syncing = false;
  private closed = false;
  /** fdatasync calls so far (group commit: far fewer than records under load). */
  syncs = 0;
  private scheduled = false;
  private readonly old = new Set<Segment>();

  private readonly timer: NodeJS.Timeout | null = null;
  private dirty = false;

  /**
   * `syncEveryMs` 0: a record is fdatasync'd before `append` resolves (survives power loss). Above 0:
   * `append` resolves once the record is written (in the page cache it outlives the process: a
   * kill -9 or OOM loses nothing) and the file is fdatasync'd that often — a power loss or kernel
   * crash may lose the charges of the last period (the operator's loss; the lease bounds it).
   */
  constructor(
    private readonly dir: string,
    private readonly tag: string,
    private readonly logger?: Logger,
    private readonly syncEveryMs = 0,
  ) {
    mkdirSync(dir, { recursive: true });
    LIVE.add(tag);
    if (syncEveryMs > 0) {
      this.timer = setInterval(() => this.periodicSync(), syncEveryMs);
      this.timer.unref();
    }
  }

  private periodicSync(): void {
    if (!this.dirty || this.syncing || this.fd === null) return;
    this.dirty = false;
    this.syncing = true;
    this.syncs++;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err) this.logger?.error({ err: err.message }, "lease journal: fdatasync failed");
      if (this.buf.length && !this.scheduled) this.flushBatch();
    });
  }

  /** Resolves with the record's segment once it is on disk; rejects when the disk refuses. */
  append(rec: LeasedCharge): Promise<Segment> {
    // After close (a request that outlived the shutdown's drain): the caller applies the charge directly.
    if (this.closed) return Promise.reject(new Error("lease journal closed"));
    this.buf.push(JSON.stringify(rec) + "\n");
    return new Promise<Segment>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      // With a sync period, writes never wait for a sync in flight; without, the next sync takes them.
      if (!this.scheduled && (this.syncEveryMs > 0 || !this.syncing)) {
        this.scheduled = true;
        // Requests finishing in the same tick share the write and the sync.
        queueMicrotask(() => this.flushBatch());
      }
    });
  }

  /** `n` records of `seg` are in the database. */
  applied(seg: Segment, n = 1): void {
    seg.pending -= n;
    this.prune();
  }

  /**
   * Removes done segments oldest first, never one behind a segment still pending: a stream's
   * progress record is older than its settlement, so while the progress record's file exists the
   * settlement's does too, and a replay never charges a settled (or released) stream at its bound.
   */
  private prune(): void {
    for (const s of this.old) {
      if (s.pending > 0) return;
      this.old.delete(s);
      removeFile(s.path);
    }
  }

  private current(): Segment {
    if (this.seg && this.seg.bytes < SEGMENT_BYTES) return this.seg;
    if (this.seg) {
      this.old.add(this.seg);
      closeSync(this.fd!);
      const full = this.seg;
      this.seg = null;
      if (full.pending <= 0) this.applied(full, 0);
    }
    const path = join(this.dir, `lease-${process.pid}-${this.tag}-${this.n++}.jsonl`);
    this.fd = openSync(path, "a");
    // The new name itself must survive a power loss, not only the bytes in it.
    try {
      const d = openSync(this.dir, "r");
      fsyncSync(d);
      closeSync(d);
    } catch {
      /* some filesystems refuse fsync on a directory */
    }
    this.seg = { path, pending: 0, bytes: 0 };
    return this.seg;
  }

  private flushBatch(): void {
    this.scheduled = false;
    if (this.buf.length === 0 || (this.fd === null && this.closed)) return;
    const lines = this.buf.join("");
    const ws = this.waiters;
    this.buf = [];
    this.waiters = [];
    let seg: Segment;
    let fd: number;
    try {
      // Rotation happens only here, so every record of a batch is in the segment that counts it.
      seg = this.current();
      fd = this.fd!;
      const b = Buffer.from(lines);
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off);
      seg.bytes += b.length;
      seg.pending += ws.length;
    } catch (e) {
      for (const w of ws) w.reject(e);
      return;
    }
    if (this.closed) {
      // close() is writing what was buffered: synchronously, before the file closes.
      try {
        fsyncSync(fd);
      } catch (e) {
        for (const w of ws) w.reject(e);
        return;
      }
      for (const w of ws) w.resolve(seg);
      return;
    }
    if (this.syncEveryMs > 0) {
      this.dirty = true;
      for (const w of ws) w.resolve(seg);
      return;
    }
    this.syncing = true;
    this.syncs++;
    fdatasync(fd, (err) => {
      this.syncing = false;
      if (err) this.logger?.error({ err: err.message }, "lease journal: fdatasync failed");
      for (const w of ws) (err ? w.reject(err) : w.resolve(seg));
      if (this.closed) this.closeFile();
      else if (this.buf.length) this.flushBatch();
    });
  }

  /**
   * Closes the file; removes the segments whose records are all applied. Records appended but not
   * yet written are written and synced now (their appends resolve); later appends are refused.
   * A sync in flight keeps the file open until it returns.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      if (this.buf.length) this.flushBatch();
      if (this.fd !== null && this.dirty) fsyncSync(this.fd);
    } catch {
      /* closing anyway: the waiters were told */
    }
    LIVE.delete(this.tag);
    if (!this.syncing) this.closeFile();
  }

  private closeFile(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.prune();
    if (this.seg) {
      if (this.seg.pending <= 0 && this.old.size === 0) removeFile(this.seg.path);
      this.seg = null;
    }
  }

  /**
   * Records left by processes that are gone (not running, or this pid's predecessor after a
   * container restart), newest per request id, with the tags of those processes and their files.
   */
  static recover(dir: string, logger?: Logger): { records: LeasedCharge[]; files: string[]; gone: Array<{ pid: number; tag: string }> } {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return { records: [], files: [], gone: [] };
    }
    const byRid = new Map<string, LeasedCharge>();
    const files: string[] = [];
    const gone = new Map<string, { pid: number; tag: string }>();
    // Oldest first: segment numbers in numeric order ("-10" after "-2"), lines in append order.
    for (const name of names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }))) {
      const m = NAME.exec(name);
      if (!m) continue;
      const path = join(dir, name);
      const pid = Number(m[1]);
      if ((pid === process.pid && LIVE.has(m[2]!)) || (pid !== process.pid && processAlive(pid))) continue;
      files.push(path);
      gone.set(`${pid}-${m[2]}`, { pid, tag: m[2]! });
      const { values, torn } = readJsonLines(path);
      for (const v of values) {
        const r = v as LeasedCharge | null;
        if (!r || typeof r.rid !== "string" || typeof r.lease !== "string") continue;
        // A settlement beats any progress record of its stream; of progress records the newest wins (its prompt
        // may have been refined down since, its completion bound only grows).
        const had = byRid.get(r.rid);
        if (r.t === "p" && had && had.t !== "p") continue;
        byRid.set(r.rid, r);
      }
      if (torn) logger?.warn({ file: name, torn }, "lease journal: skipped torn lines");
    }
    return { records: [...byRid.values()], files, gone: [...gone.values()] };
  }

  static discard(files: readonly string[]): void {
    for (const f of files) removeFile(f);
  }
}

