import type { Clock } from "../core/clock.js";

/**
 * Brute-force brake for password login. Failures are counted per account (normalized email) and
 * per client IP in a fixed window; reaching the limit locks that subject out for `lockoutSec`
 * (answer: 429 too_many_attempts with Retry-After). A success clears the account's counter.
 *
 * In-process: each gateway instance counts on its own, so with N instances an attacker gets at
 * most N × the limit per window — still a hard brake on guessing at scrypt speed. Memory is
 * bounded (`maxEntries`, oldest evicted first).
 */
export interface LoginThrottleOptions {
  clock: Clock;
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  windowSec: number;
  lockoutSec: number;
  maxEntries?: number;
}

interface Counter {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSec: number; subject: "account" | "ip" };

export class LoginThrottle {
  private readonly counters = new Map<string, Counter>();
  private readonly maxEntries: number;

  constructor(private readonly opts: LoginThrottleOptions) {
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  /** Call before checking the password: a locked-out subject is refused without any scrypt work. */
  check(account: string, ip: string | null): ThrottleVerdict {
    const now = this.opts.clock.now();
    for (const [subject, key] of this.keys(account, ip)) {
      const c = this.counters.get(key);
      if (c && c.lockedUntil > now) return { allowed: false, retryAfterSec: Math.ceil((c.lockedUntil - now) / 1000), subject };
    }
    return { allowed: true };
  }

  /** Records a failed attempt; returns the verdict for the *next* attempt. */
  fail(account: string, ip: string | null): ThrottleVerdict {
    const now = this.opts.clock.now();
    let verdict: ThrottleVerdict = { allowed: true };
    for (const [subject, key] of this.keys(account, ip)) {
      const limit = subject === "account" ? this.opts.maxFailuresPerAccount : this.opts.maxFailuresPerIp;
      let c = this.counters.get(key);
      if (!c || now - c.windowStart >= this.opts.windowSec * 1000) {
        c = { failures: 0, windowStart: now, lockedUntil: c?.lockedUntil ?? 0 };
      }
      c.failures += 1;
      if (c.failures >= limit) {
        c.lockedUntil = now + this.opts.lockoutSec * 1000;
        c.failures = 0;
        c.windowStart = now;
        verdict = { allowed: false, retryAfterSec: this.opts.lockoutSec, subject };
      }
      this.counters.delete(key);
      this.counters.set(key, c);
    }
    this.evict();
    return verdict;
  }

  succeed(account: string): void {
    this.counters.delete(`a:${account}`);
  }

  private keys(account: string, ip: string | null): Array<["account" | "ip", string]> {
    const out: Array<["account" | "ip", string]> = [["account", `a:${account}`]];
    if (ip) out.push(["ip", `i:${ip}`]);
    return out;
  }

  private evict(): void {
    while (this.counters.size > this.maxEntries) {
      const oldest = this.counters.keys().next().value;
      if (oldest === undefined) break;
      this.counters.delete(oldest);
    }
  }
}
