/**
 * Balance leases: the money path without a database round trip per request.
 *
 * A process takes a slice of an account's spendable balance in one statement (lease-store
 * `takeLease`: `reserved_micros` grows by it, so Σ leases + holds ≤ balance across processes) and
 * admits requests against it in memory. A settlement is priced locally from the hold's snapshot
 * (the same function and rounding as the database path), appended to the local journal and
 * fdatasync'd (group commit) before the answer leaves; a batch applier writes the ledger rows,
 * balances and lease amounts every BILLING_LEASE_APPLY_MS in one transaction, idempotently.
 *
 * Safety, in the order it matters:
 * - No overspend: a request is admitted only if its whole hold fits the lease's free part; the
 *   lease was reserved in the database first. A charge is never above its hold.
 * - Crash: what was answered is in the journal (replayed at the next start, idempotent by request
 *   id); what was not answered was never charged, except a stream cut mid-way: it is charged its
 *   last journaled bound (progress records, ahead of delivery, ≤ its hold). A dead process's lease expires (its expiry is
 *   renewed while it lives) and the sweeper gives back what it still reserves. A journal applied
 *   after its lease expired is charged only as far as the spendable balance covers (operator loss,
 *   never client overspend).
 * - Time: a lease admits only until `renewedAt + 2 × renew period` (local clock, taken before the
 *   renewal was sent), and the database keeps it `hold TTL + 3 × renew period` past each renewal,
 *   so every request admitted on it ends before it can expire.
 * A request the lease can't cover takes a fresh lease, else the process gives back what its leases
 * of that account hold free and the request holds in the database (so the last kopeck is spendable).
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Logger } from "../core/logger.js";
import { newId } from "../core/ids.js";
import type { Db } from "../db/client.js";
import { LeaseJournal, type Segment } from "./lease-journal.js";
import { applyCharges, closeReplayedStreams, giveBack, leasesOfInstances, renewLeases, takeLease, type LeasedCharge, type LeaseGiveBack } from "./lease-store.js";

export interface LeaseSettings {
  maxMicros: bigint;
  minMicros: bigint;
  journalDir: string;
  applyMs: number;
  renewMs: number;
  /** 0 = fdatasync before each answer (group commit); > 0 = write before the answer, fdatasync this often. */
  journalFsyncMs: number;
}

interface Lease {
  id: string;
  accountId: string;
  /** Admittable now. */
  free: bigint;
  /** Taken by requests in flight. */
  held: bigint;
  /** Charged, journaled, not yet in the database. */
  unapplied: bigint;
  admitUntil: number;
  admitting: boolean;
  lastUse: number;
}

interface AccountLeases {
  leases: Set<Lease>;
  current: Lease | null;
  /** The slow path (take / give back) runs one at a time per account. */
  busy: Promise<unknown> | null;
  /** No new lease before this (the last one couldn't be had): hold in the database. */
  directUntil: number;
  /** Holds per second, decayed (sizes the next lease). */
  rate: number;
  rateAt: number;
}

/** What a request took from a lease. */
export interface LeaseHold {
  lease: Lease;
  amount: bigint;
  /** A stream's newest progress record (pending in its segment until superseded or the settlement is applied). */
  progSeg?: Segment | null;
  settled?: boolean;
}

interface Queued {
  rec: LeasedCharge;
  seg: Segment | null;
  lease: Lease | null;
  /** The stream's last progress record, done with once this settlement is applied. */
  prog?: Segment | null;
  done?: (err?: Error) => void;
}

export class LeaseBook {
  readonly instanceId: string;
  private readonly tag = randomBytes(5).toString("hex");
  private readonly accounts = new Map<string, AccountLeases>();
  private readonly journal: LeaseJournal;
  private queue: Queued[] = [];
  /** Settlements on their way to the journal. */
  private readonly settling = new Set<Promise<void>>();
  private applying: Promise<void> | null = null;
  private failures = 0;
  private readonly applyTimer: NodeJS.Timeout;
  private readonly renewTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly s: LeaseSettings,
    /** Hold TTL (already ≥ the longest request + 1 min). */
    private readonly holdTtlMs: number,
    private readonly now: () => number,
    private readonly logger?: Logger,
  ) {
    this.instanceId = `${hostname()}:${process.pid}:${this.tag}`;
    this.journal = new LeaseJournal(s.journalDir, this.tag, logger, s.journalFsyncMs);
    this.applyTimer = setInterval(() => void this.apply(), s.applyMs);
    this.applyTimer.unref();
    this.renewTimer = setInterval(() => void this.renew(), s.renewMs);
    this.renewTimer.unref();
  }

  private get leaseTtlMs(): number {
    return this.holdTtlMs + 3 * this.s.renewMs;
  }

  /**
   * Replays the journals of processes that are gone (same directory), then gives back their open
   * leases: everything they answered is now in the ledger, and what they had not answered was never
   * charged. Throws when the database refuses (the caller retries).
   */
  async recover(): Promise<number> {
    const r = LeaseJournal.recover(this.s.journalDir, this.logger);
    if (r.files.length === 0) return 0;
    for (let i = 0; i < r.records.length; i += 500) await applyCharges(this.db, r.records.slice(i, i + 500));
    // Streams cut by the crash: their log rows say what they were billed for (the sweeper's job on the hold path).
    await closeReplayedStreams(this.db, r.records.filter((x) => x.t === "p"));
    const host = hostname();
    const dead = await leasesOfInstances(this.db, r.gone.map((g) => `${host}:${g.pid}:${g.tag}`));
    await giveBack(this.db, dead);
    LeaseJournal.discard(r.files);
    if (r.records.length) this.logger?.warn({ records: r.records.length, files: r.files.length, leases: dead.length }, "lease journal: replayed the charges of a process that is gone");
    return r.records.length;
  }

  private acct(accountId: string): AccountLeases {
    let a = this.accounts.get(accountId);
    if (!a) {
      a = { leases: new Set(), current: null, busy: null, directUntil: 0, rate: 0, rateAt: 0 };
      this.accounts.set(accountId, a);
    }
    return a;
  }

  /** The lease that can admit `need` now, if the account's current one can. */
  private fits(l: Lease | null, need: bigint, t: number): Lease | null {
    return l !== null && l.admitting && t < l.admitUntil && l.free >= need ? l : null;
  }

  private take(a: AccountLeases, l: Lease, need: bigint, t: number): LeaseHold {
    l.free -= need;
    l.held += need;
    l.lastUse = t;
    const dt = Math.max(0, t - a.rateAt);
    a.rate = a.rate * Math.exp(-dt / 1000) + Number(need);
    a.rateAt = t;
    return { lease: l, amount: need };
  }

  /** Admits `need` against a lease of the account, or null: hold in the database instead. */
  async admit(accountId: string, need: bigint): Promise<LeaseHold | null> {
    if (this.closed || need <= 0n || need * 4n > this.s.maxMicros) return null;
    const a = this.acct(accountId);
    const t = this.now();
    const hit = this.fits(a.current, need, t);
    if (hit) return this.take(a, hit, need, t);
    if (t < a.directUntil) return null;
    const run = async (): Promise<LeaseHold | null> => {
      const t2 = this.now();
      const again = this.fits(a.current, need, t2);
      if (again) return this.take(a, again, need, t2);
      if (t2 < a.directUntil || this.closed) return null;
      // Two seconds of recent demand, at least sixteen requests like this one.
      const demand = BigInt(Math.ceil(a.rate * 2));
      let want = need * 16n > demand ? need * 16n : demand;
      if (want > this.s.maxMicros) want = this.s.maxMicros;
      const min = need * 2n > this.s.minMicros ? need * 2n : this.s.minMicros;
      const id = newId("lease");
      const sentAt = this.now();
      let granted = 0n;
      try {
        granted = await takeLease(this.db, { id, accountId, instanceId: this.instanceId, wantMicros: want, minMicros: min, ttlMs: this.leaseTtlMs });
      } catch (e) {
        this.logger?.warn({ err: (e as Error).message }, "lease: could not take a lease; holding in the database");
      }
      if (granted >= need) {
        if (a.current) a.current.admitting = false;
        const l: Lease = { id, accountId, free: granted, held: 0n, unapplied: 0n, admitUntil: sentAt + 2 * this.s.renewMs, admitting: true, lastUse: sentAt };
        a.leases.add(l);
        a.current = l;
        return this.take(a, l, need, this.now());
      }
      // Too little to lease: give back what our leases hold unused, and hold in the database.
      a.directUntil = this.now() + 1000;
      await this.giveBackFree(a);
      return null;
    };
    const p = (a.busy ?? Promise.resolve()).then(run, run);
    const tail: Promise<unknown> = p.catch(() => undefined);
    a.busy = tail;
    void tail.then(() => {
      if (a.busy === tail) a.busy = null;
    });
    return p;
  }

  /** Gives back every unused part of the account's leases (not what requests in flight hold). */
  private async giveBackFree(a: AccountLeases): Promise<void> {
    const items: LeaseGiveBack[] = [];
    for (const l of a.leases) {
      if (l.free <= 0n) continue;
      items.push({ leaseId: l.id, accountId: l.accountId, micros: l.free });
      // Not admittable any more, whatever the database call's fate (if it failed, closing the lease returns it).
      l.free = 0n;
      l.admitting = false;
    }
    // The next request takes a fresh lease (or holds in the database); the old ones only drain.
    if (a.current) a.current.admitting = false;
    a.current = null;
    try {
      await giveBack(this.db, items);
    } catch (e) {
      this.logger?.warn({ err: (e as Error).message }, "lease: giving back failed; the lease returns it when closed");
    }
  }

  release(h: LeaseHold): void {
    h.lease.held -= h.amount;
    h.lease.free += h.amount;
  }

  /**
   * Records the charge: on disk before this resolves (the caller then answers), in the database
   * with the next batch. `price` ≤ the hold. When the journal refuses, the charge goes to the
   * database before this resolves instead.
   */
  settle(h: LeaseHold, requestId: string, keyId: string | null, price: bigint, cost: bigint): Promise<void> {
    const p = this.record(h, requestId, keyId, price, cost);
    this.settling.add(p);
    void p.catch(() => undefined).finally(() => this.settling.delete(p));
    return p;
  }

  /**
   * A leased stream's crash bound: the charge at what it may have delivered (≤ its hold), on disk
   * before that output goes out (the settlements' group commit). Each record supersedes the last;
   * a replay charges the newest only if the stream has no settlement record.
   */
  async progress(h: LeaseHold, requestId: string, keyId: string | null, price: bigint, cost: bigint, prompt: number, completion: number): Promise<void> {
    const l = h.lease;
    const rec: LeasedCharge = { t: "p", rid: requestId, eid: newId("ledger"), acct: l.accountId, lease: l.id, key: keyId, charge: price.toString(), cost: cost.toString(), hold: h.amount.toString(), pt: prompt, ct: completion };
    const seg = await this.journal.append(rec);
    if (h.settled) return this.journal.applied(seg);
    const old = h.progSeg;
    h.progSeg = seg;
    if (old) this.journal.applied(old);
  }

  private async record(h: LeaseHold, requestId: string, keyId: string | null, price: bigint, cost: bigint): Promise<void> {
    const l = h.lease;
    h.settled = true;
    const prog = h.progSeg ?? null;
    h.progSeg = null;
    l.held -= h.amount;
    l.free += h.amount - price;
    l.unapplied += price;
    const rec: LeasedCharge = { rid: requestId, eid: newId("ledger"), acct: l.accountId, lease: l.id, key: keyId, charge: price.toString(), cost: cost.toString(), hold: h.amount.toString() };
    let seg: Segment | null = null;
    try {
      seg = await this.journal.append(rec);
    } catch (e) {
      this.logger?.error({ err: (e as Error).message, requestId }, "lease journal: write failed; applying the charge directly");
    }
    if (seg) {
      this.queue.push({ rec, seg, lease: l, prog });
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ rec, seg: null, lease: l, prog, done: (err) => (err ? reject(err) : resolve()) });
      void this.apply();
    });
  }

  /** Applies what is queued, one transaction per batch (at most 500 charges). */
  apply(): Promise<void> {
    if (this.applying) return this.applying;
    if (this.queue.length === 0) return Promise.resolve();
    this.applying = (async () => {
      try {
        while (this.queue.length) {
          const batch = this.queue.splice(0, 500);
          try {
            const out = await applyCharges(
              this.db,
              batch.map((q) => q.rec),
            );
            this.failures = 0;
            if (out.shortfallMicros > 0n) this.logger?.warn({ shortfall: out.shortfallMicros.toString() }, "lease: charges applied after their lease had expired; the balance covered only part");
          } catch (e) {
            this.queue.unshift(...batch);
            this.failures++;
            if (this.failures === 1 || this.failures % 100 === 0) this.logger?.error({ err: (e as Error).message, queued: this.queue.length }, "lease: applying charges failed; kept queued");
            await new Promise((r) => setTimeout(r, Math.min(5000, 50 * 2 ** Math.min(this.failures, 7))).unref());
            // Shut down with the database gone: journaled charges wait for the next start; the others fail (the log row says so).
            if (this.closed && this.failures > 3) return void this.queue.forEach((q) => q.done?.(new Error(`lease: charge not applied at shutdown: ${(e as Error).message}`)));
            continue;
          }
          for (const q of batch) {
            if (q.lease) q.lease.unapplied -= BigInt(q.rec.charge);
            if (q.seg) this.journal.applied(q.seg);
            if (q.prog) this.journal.applied(q.prog);
            q.done?.();
          }
        }
      } finally {
        this.applying = null;
      }
    })();
    return this.applying;
  }

  /** Renews the expiry of every lease this process still has; closes the idle ones. */
  private async renew(): Promise<void> {
    const t = this.now();
    const close: Lease[] = [];
    const live: Lease[] = [];
    for (const a of this.accounts.values()) {
      for (const l of a.leases) {
        const idle = l.held === 0n && l.unapplied === 0n && (!l.admitting || t - l.lastUse > 2 * this.s.renewMs);
        (idle ? close : live).push(l);
      }
    }
    if (close.length) await this.closeLeases(close);
    if (live.length === 0) return;
    try {
      const open = await renewLeases(this.db, live.map((l) => l.id), this.leaseTtlMs);
      for (const l of live) {
        const st = open.get(l.id);
        if (st === "active") l.admitUntil = t + 2 * this.s.renewMs;
        else {
          // Closed by the sweeper (we were unreachable too long) or the account is blocked: admit nothing more on it.
          l.admitting = false;
          if (st === undefined) l.free = 0n;
        }
      }
    } catch (e) {
      this.logger?.warn({ err: (e as Error).message }, "lease: renewal failed; leases stop admitting at their local deadline");
    }
  }

  private async closeLeases(ls: readonly Lease[]): Promise<void> {
    for (const l of ls) {
      l.admitting = false;
      l.free = 0n;
    }
    try {
      await giveBack(this.db, ls.map((l) => ({ leaseId: l.id, accountId: l.accountId, micros: null })));
    } catch (e) {
      this.logger?.warn({ err: (e as Error).message }, "lease: closing leases failed; the sweeper returns them at expiry");
      return;
    }
    for (const l of ls) {
      const a = this.accounts.get(l.accountId);
      if (!a) continue;
      a.leases.delete(l);
      if (a.current === l) a.current = null;
      if (a.leases.size === 0 && a.busy === null) this.accounts.delete(l.accountId);
    }
  }

  /** Everything settled so far is in the database, and unused leases are given back. */
  async flush(): Promise<void> {
    for (let i = 0; i < 100 && (this.settling.size || this.queue.length || this.applying); i++) {
      await Promise.allSettled([...this.settling]);
      await this.apply();
    }
    const idle: Lease[] = [];
    for (const a of this.accounts.values()) for (const l of a.leases) if (l.held === 0n && l.unapplied === 0n) idle.push(l);
    if (idle.length) await this.closeLeases(idle);
    for (const a of this.accounts.values()) if (a.leases.size) await this.giveBackFree(a);
  }

  get pending(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.renewTimer);
    await this.flush();
    clearInterval(this.applyTimer);
    this.journal.close();
  }
}
