import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { RedisLimitStore } from "./redis-store.js";
import type { AdmitResult, Check, LeaseEntry, LimitKind } from "./types.js";

/** A lease is at most this share of its limit: N processes leave at most N shares unused or counted early. */
const SHARE_PARTS = 100;
/**
 * A limit whose share would be smaller than this is decided in Redis per request (exact): 10
 * requests or slots, 1,000 tokens (a share must hold a few requests' estimates).
 */
const MIN_SHARE = { requests: 10, concurrency: 10, tokens: 1000 } as const;
/** Leases are settled and taken anew this often, in one script call for every key in use. */
export const LEASE_TICK_MS = 100;
/** A lease starts at this many requests (or this many times the first token estimate), and grows with demand. */
const FIRST_LEASE_UNITS = 16;
/** Keys per script call. */
const BATCH = 128;
/** Rounds of refills one admission may wait for before it is refused. */
const MAX_ROUNDS = 4;

const shareOf = (limit: number): number => Math.floor(limit / SHARE_PARTS);

/** The limit is large enough to be leased (the flag Redis scripts read, whatever one request's cost). */
export function mayLease(c: Check): boolean {
  return shareOf(c.limit) >= MIN_SHARE[c.kind];
}

/** This request may be decided against a lease: a token estimate must be small against one share. */
function leasable(c: Check): boolean {
  return c.leased === true && (c.kind !== "tokens" || c.cost * 4 <= shareOf(c.limit));
}

/**
 * One process's lease on one key. Requests/tokens: `grant` units taken in Redis at the lease's start,
 * `used` of them admitted here. Concurrency: a block of `grant` slots, `used` of them open.
 */
interface LeaseState {
  key: string;
  kind: LimitKind;
  limit: number;
  windowMs: number;
  member: string | null;
  grant: number;
  used: number;
  /** Units everybody else took, at the last sync (for the x-ratelimit-* headers). */
  others: number;
  /** Units asked for since the last tick. */
  demand: number;
  /** Admissions not yet done() (the state is kept while any is open). */
  open: number;
  want: number;
  /** The last sync granted less than asked: the limit itself is reached. */
  full: boolean;
  waitMs: number;
  renewedAt: number;
  /** Units the admissions waiting for a refill need. */
  needed: number;
  syncing: Promise<void> | null;
}

export interface LeaseAdmission {
  res: AdmitResult;
  /** Gives back the slots and corrects the token estimate, in this process (the next tick tells Redis). */
  done(actualTokens: number | null): void;
}

/**
 * Rate limits decided in this process against leases taken from Redis (see the README): a process
 * leases a share of a large limit's budget, admits against it locally, and settles what it used
 * every tick in one script call for all its keys. A request is decided here only when every limit
 * that applies to it is large enough; anything else goes to Redis per request, as before.
 */
export class LocalLeases {
  private readonly states = new Map<string, LeaseState>();
  private readonly proc = randomBytes(6).toString("hex");
  private seq = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly store: RedisLimitStore,
    private readonly clock: Clock,
    private readonly leaseMs: number,
    /** Called with a failed tick's error (admissions see theirs as a rejection of the promise). */
    private readonly onError: (err: unknown) => void,
    /** Ticks run only while this says Redis is usable. */
    private readonly usable: () => boolean,
  ) {
    this.timer = setInterval(() => this.tick(), LEASE_TICK_MS);
    this.timer.unref();
  }

  /** Whether every check of this request can be decided against leases. */
  covers(checks: readonly Check[]): boolean {
    for (const c of checks) if (!leasable(c)) return false;
    return true;
  }

  /** Admits against the leases, refilling the ones that ran short. Rejects on a Redis error. */
  async admit(checks: readonly Check[]): Promise<LeaseAdmission> {
    const n = checks.length;
    const states: LeaseState[] = new Array(n);
    const needs: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      states[i] = this.state(c);
      needs[i] = c.kind === "tokens" ? c.cost : 1;
    }
    for (let round = 0; ; round++) {
      let short = -1;
      const refill: LeaseState[] = [];
      for (let i = 0; i < n; i++) {
        const st = states[i]!;
        if (st.used + needs[i]! <= st.grant) continue;
        if (short < 0 || (st.full && !states[short]!.full)) short = i;
        refill.push(st);
      }
      if (short < 0) return this.take(states, needs, checks);
      if (round >= MAX_ROUNDS || (round > 0 && states[short]!.full)) return this.refuse(states, needs, short);
      const waits: Array<Promise<void>> = [];
      const start: LeaseState[] = [];
      for (let i = 0; i < n; i++) {
        const st = states[i]!;
        if (!refill.includes(st)) continue;
        st.needed += needs[i]!;
        if (st.syncing) waits.push(st.syncing);
        else start.push(st);
      }
      try {
        if (start.length > 0) waits.push(this.sync(start, false));
        await Promise.all(waits);
      } finally {
        for (let i = 0; i < n; i++) if (refill.includes(states[i]!)) states[i]!.needed -= needs[i]!;
      }
    }
  }

  private take(states: LeaseState[], needs: number[], checks: readonly Check[]): LeaseAdmission {
    const used: number[] = new Array(states.length);
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!;
      st.used += needs[i]!;
      st.demand += needs[i]!;
      st.open++;
      used[i] = st.others + st.used;
    }
    let finished = false;
    return {
      res: { ok: true, used },
      done: (actualTokens) => {
        if (finished) return;
        finished = true;
        for (let i = 0; i < states.length; i++) {
          const st = states[i]!;
          st.open--;
          if (st.kind === "concurrency") st.used--;
          else if (st.kind === "tokens" && actualTokens !== null) st.used = Math.max(0, st.used + actualTokens - checks[i]!.cost);
        }
      },
    };
  }

  private refuse(states: LeaseState[], needs: number[], failed: number): LeaseAdmission {
    const used = states.map((st) => st.others + st.used);
    const st = states[failed]!;
    // A refusal counts as demand: the next tick keeps a lease for the key, sized to what was asked.
    st.demand += needs[failed]!;
    return { res: { ok: false, failed, retryAfterMs: Math.max(1, st.waitMs || 1000), used }, done() {} };
  }

  private state(c: Check): LeaseState {
    let st = this.states.get(c.key);
    if (!st) {
      const unit = c.kind === "tokens" ? Math.max(1, c.cost) : 1;
      st = {
        key: c.key,
        kind: c.kind,
        limit: c.limit,
        windowMs: c.windowMs,
        member: null,
        grant: 0,
        used: 0,
        others: 0,
        demand: 0,
        open: 0,
        want: Math.min(shareOf(c.limit), unit * FIRST_LEASE_UNITS),
        full: false,
        waitMs: 0,
        renewedAt: 0,
        needed: 0,
        syncing: null,
      };
      this.states.set(c.key, st);
    } else {
      // A tariff change moves the limit; the next sync uses the new one.
      st.limit = c.limit;
      st.windowMs = c.windowMs;
    }
    return st;
  }

  /**
   * One script call for these states: each old lease is settled with what it covered and a new one
   * taken. A refill (`tick` false) asks for at least what the waiting admissions need and grows the
   * lease; a tick sizes it to the demand of the last tick, or gives it back when there was none.
   */
  private sync(list: LeaseState[], tick: boolean): Promise<void> {
    const now = Math.floor(this.clock.now());
    const entries: LeaseEntry[] = new Array(list.length);
    const snap: number[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const st = list[i]!;
      const share = shareOf(st.limit);
      let ask: number;
      if (tick) ask = st.demand > 0 ? Math.min(share, Math.max(st.want, st.demand * 2)) : 0;
      else {
        // What the waiting admissions need, and beyond that at most one share.
        ask = Math.max(st.needed, Math.min(share, st.want * 2));
        st.want = Math.min(share, Math.max(st.want, ask));
      }
      if (tick) {
        st.want = Math.max(1, Math.min(share, ask || st.want));
        st.demand = 0;
      }
      snap[i] = st.used;
      const blocks = st.kind === "concurrency";
      entries[i] = {
        key: st.key,
        kind: st.kind,
        limit: st.limit,
        windowMs: st.windowMs,
        old: st.member,
        grant: st.grant,
        settle: blocks ? 0 : st.used,
        next: `${this.proc}.${++this.seq}`,
        // A block always covers the open requests; a lease covers usage no lease recorded yet.
        base: blocks || st.member === null ? st.used : 0,
        ask,
      };
    }
    const p = this.store.lease(entries, now, this.leaseMs).then(
      (replies) => {
        for (let i = 0; i < list.length; i++) {
          const st = list[i]!;
          const e = entries[i]!;
          const r = replies[i]!;
          // Admitted while the call was out, against the old lease: carried into the new one. An
          // estimate corrected down meanwhile may take it below what was settled: that correction
          // is lost (over-counts a little, never under), and the carry never goes negative (the
          // script reads whole non-negative numbers only; a negative one shifted every reply after it).
          if (st.kind !== "concurrency" && e.old !== null) st.used = Math.max(0, st.used - snap[i]!);
          st.member = r.granted > 0 ? e.next : null;
          st.grant = r.granted;
          st.others = r.others;
          st.full = r.granted < e.base + e.ask;
          st.waitMs = r.waitMs;
          st.renewedAt = now;
        }
      },
      (err: unknown) => {
        // Unknown whether the script ran: whatever it left in Redis counts as taken until it expires.
        for (const st of list) {
          if (st.kind !== "concurrency") st.used = 0;
          st.member = null;
          st.grant = 0;
          st.full = false;
        }
        throw err;
      },
    );
    const guarded = p.finally(() => {
      for (const st of list) if (st.syncing === guarded) st.syncing = null;
    });
    for (const st of list) st.syncing = guarded;
    return guarded;
  }

  private tick(): void {
    if (this.states.size === 0 || !this.usable()) return;
    const now = this.clock.now();
    const due: LeaseState[] = [];
    for (const st of this.states.values()) {
      if (st.syncing) continue;
      if (st.member === null && st.used === 0 && st.demand === 0) {
        if (st.open === 0) this.states.delete(st.key);
        continue;
      }
      if (st.kind === "concurrency" && st.demand === 0 && st.grant === st.used && now - st.renewedAt < this.leaseMs / 3) continue;
      due.push(st);
    }
    this.flush(due);
  }

  private flush(due: LeaseState[]): void {
    for (let i = 0; i < due.length; i += BATCH) this.sync(due.slice(i, i + BATCH), true).catch(this.onError);
  }

  /** Gives every lease back (best effort) and stops the tick. */
  close(): void {
    clearInterval(this.timer);
    const all = [...this.states.values()].filter((st) => !st.syncing && st.member !== null);
    for (const st of all) st.demand = 0;
    if (this.usable()) this.flush(all);
  }
}
