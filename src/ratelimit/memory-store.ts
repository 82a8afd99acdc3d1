import type { AdmitResult, Check, LimitStore, SettleEntry } from "./types.js";

interface Entry {
  id: string;
  score: number;
  weight: number;
}

/** A sliding-window log: entries ordered by score, with their weight sum kept up to date. */
class WindowLog {
  entries: Entry[] = [];
  head = 0;
  sum = 0;
  byId = new Map<string, Entry>();
  windowMs = 0;

  trim(cutoff: number): void {
    const e = this.entries;
    let h = this.head;
    while (h < e.length && e[h]!.score <= cutoff) {
      const x = e[h]!;
      this.sum -= x.weight;
      if (this.byId.get(x.id) === x) this.byId.delete(x.id);
      h++;
    }
    // Compact now and then instead of shifting on every trim.
    if (h > 64 && h * 2 > e.length) {
      this.entries = e.slice(h);
      h = 0;
    }
    this.head = h;
    if (this.size() === 0) this.sum = 0;
  }

  size(): number {
    return this.entries.length - this.head;
  }

  add(x: Entry): void {
    const e = this.entries;
    if (e.length === this.head || e[e.length - 1]!.score <= x.score) e.push(x);
    else {
      // An injected clock may go backwards in tests; keep the order.
      let lo = this.head;
      let hi = e.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (e[mid]!.score <= x.score) lo = mid + 1;
        else hi = mid;
      }
      e.splice(lo, 0, x);
    }
    this.sum += x.weight;
    this.byId.set(x.id, x);
  }

  /** Score of the entry at which the cumulative weight from the oldest reaches `need`. */
  scoreWhenFreed(need: number): number | null {
    let freed = 0;
    for (let i = this.head; i < this.entries.length; i++) {
      const x = this.entries[i]!;
      freed += x.weight;
      if (freed >= need) return x.score;
    }
    return null;
  }

  countAfter(cutoff: number, weighted: boolean): number {
    let s = 0;
    for (let i = this.entries.length - 1; i >= this.head; i--) {
      const x = this.entries[i]!;
      if (x.score <= cutoff) break;
      s += weighted ? x.weight : 1;
    }
    return s;
  }
}

/**
 * The same limiter in process memory: used when no REDIS_URL is set, and per process while Redis is
 * unreachable. Single-threaded JS makes each admit atomic by construction.
 */
export class MemoryLimitStore implements LimitStore {
  readonly kind = "memory" as const;
  private readonly logs = new Map<string, WindowLog>();
  private readonly leases = new Map<string, Map<string, number>>();

  admit(checks: readonly Check[], id: string, now: number, leaseMs: number): Promise<AdmitResult> {
    return Promise.resolve(this.admitSync(checks, id, now, leaseMs));
  }

  admitSync(checks: readonly Check[], id: string, now: number, leaseMs: number): AdmitResult {
    const n = checks.length;
    const used: number[] = new Array(n);
    let failed = -1;
    let retry = 0;
    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      let wait = -1;
      if (c.kind === "concurrency") {
        const set = this.leaseSet(c.key, now);
        used[i] = set ? set.size : 0;
        if (used[i]! + 1 > c.limit) wait = 1000;
      } else {
        const log = this.logs.get(c.key);
        if (log) log.trim(now - c.windowMs);
        const cur = log ? (c.kind === "requests" ? log.size() : log.sum) : 0;
        used[i] = cur;
        const cost = c.kind === "requests" ? 1 : Math.min(c.cost, c.limit);
        if (cur + cost > c.limit) {
          const need = c.kind === "requests" ? cur - c.limit + 1 : cur + cost - c.limit;
          const score = log?.scoreWhenFreed(need) ?? null;
          wait = score === null ? c.windowMs : score + c.windowMs - now;
        }
      }
      if (wait >= 0) {
        if (wait < 1) wait = 1;
        if (failed < 0 || wait > retry) {
          failed = i;
          retry = wait;
        }
      }
    }
    if (failed >= 0) return { ok: false, failed, retryAfterMs: retry, used };

    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      if (c.kind === "concurrency") {
        let set = this.leases.get(c.key);
        if (!set) this.leases.set(c.key, (set = new Map()));
        set.set(id, now + leaseMs);
        used[i]! += 1;
      } else {
        let log = this.logs.get(c.key);
        if (!log) this.logs.set(c.key, (log = new WindowLog()));
        log.windowMs = c.windowMs;
        const weight = c.kind === "requests" ? 1 : c.cost;
        log.add({ id, score: now, weight });
        used[i]! += weight;
      }
    }
    return { ok: true, used };
  }

  settle(entries: readonly SettleEntry[]): Promise<void> {
    for (const e of entries) {
      const id = e.id;
      if (e.kind === "concurrency") {
        const set = this.leases.get(e.key);
        if (set) {
          set.delete(id);
          if (set.size === 0) this.leases.delete(e.key);
        }
      } else {
        const x = this.logs.get(e.key)?.byId.get(id);
        if (x && x.weight === e.estimated) {
          this.logs.get(e.key)!.sum += e.actual - x.weight;
          x.weight = e.actual;
        }
      }
    }
    return Promise.resolve();
  }

  renew(leases: ReadonlyArray<{ key: string; id: string }>, until: number): Promise<void> {
    for (const l of leases) {
      const set = this.leases.get(l.key);
      if (set?.has(l.id)) set.set(l.id, until);
    }
    return Promise.resolve();
  }

  peek(checks: readonly Check[], now: number): Promise<number[]> {
    return Promise.resolve(
      checks.map((c) => {
        if (c.kind === "concurrency") {
          let k = 0;
          for (const exp of this.leases.get(c.key)?.values() ?? []) if (exp > now) k++;
          return k;
        }
        return this.logs.get(c.key)?.countAfter(now - c.windowMs, c.kind === "tokens") ?? 0;
      }),
    );
  }

  /** Drops idle keys so memory does not grow with every key ever seen. */
  sweep(now: number): void {
    for (const [k, log] of this.logs) {
      log.trim(now - log.windowMs);
      if (log.size() === 0) this.logs.delete(k);
    }
    for (const k of this.leases.keys()) this.leaseSet(k, now);
  }

  private leaseSet(key: string, now: number): Map<string, number> | undefined {
    const set = this.leases.get(key);
    if (!set) return undefined;
    for (const [id, exp] of set) if (exp <= now) set.delete(id);
    if (set.size === 0) {
      this.leases.delete(key);
      return undefined;
    }
    return set;
  }
}
