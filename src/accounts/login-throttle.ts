import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { redisKeys } from "../redis/keys.js";

/**
 * Brute-force brake for password login: a progressive slow-down, never a hard lock.
 *
 * Failures are counted per subject; a subject's count is forgotten LOGIN_FAILURE_WINDOW_SEC +
 * LOGIN_LOCKOUT_SEC after its last failure (so it outlives the longest wait):
 * - source: this account from this client address. The main brake: past
 *   LOGIN_MAX_FAILURES_PER_ACCOUNT failures each further attempt waits 1, 2, 4 … s after the last
 *   failure, up to LOGIN_LOCKOUT_SEC. Someone guessing from elsewhere slows only themselves: the
 *   owner, from their own address, is not affected (a hard per-account lock let anyone who knew an
 *   e-mail lock its owner out).
 * - ip: one address trying many accounts (spraying), past LOGIN_MAX_FAILURES_PER_IP, same curve.
 * - account: every address together, past LOGIN_MAX_FAILURES_PER_IP failures, with a delay capped
 *   at LOGIN_ACCOUNT_MAX_DELAY_SEC (default 60 s): a botnet gets about one guess a minute per
 *   account, the owner waits at most that long.
 * A success clears the source and account counters.
 *
 * With Redis configured the counters are shared by every gateway process (N processes no longer
 * allow N × the guesses); while Redis is unreachable each process counts in memory. Keys carry
 * hashes, never the e-mail or address.
 */
export interface LoginThrottleOptions {
  clock: Clock;
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  windowSec: number;
  lockoutSec: number;
  /** Cap of the all-addresses delay of one account. */
  accountMaxDelaySec?: number;
  /** Shared counters; null = this process only. */
  redis?: ThrottleRedis | null;
  keyPrefix?: string;
  logger?: Logger;
  maxEntries?: number;
}

/** The part of the shared Redis handle the throttle uses. */
export interface ThrottleRedis {
  readonly client: Redis;
  status(): "up" | "down";
  reportFailure(err: unknown): void;
}

export type ThrottleSubject = "source" | "ip" | "account";
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSec: number; subject: ThrottleSubject };

interface Counter {
  failures: number;
  /** ms of the last failure */
  last: number;
}

interface Subject {
  kind: ThrottleSubject;
  key: string;
  threshold: number;
  capSec: number;
}

/** Waiting time after the last failure, once `failures` reached `threshold`: 1, 2, 4 … s, capped. */
export function slowDownSec(failures: number, threshold: number, capSec: number): number {
  if (failures < threshold) return 0;
  return Math.min(capSec, 2 ** Math.min(30, failures - threshold));
}

const h = (s: string) => createHash("sha256").update(s).digest("base64url").slice(0, 22);

const FAIL_LUA = `
local out = {}
for i = 1, #KEYS do
  local f = redis.call('HINCRBY', KEYS[i], 'f', 1)
  redis.call('HSET', KEYS[i], 'l', ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
  out[i] = f
end
return out
`;

export class LoginThrottle {
  private readonly counters = new Map<string, Counter>();
  private readonly maxEntries: number;
  private readonly key: (subject: string) => string;

  constructor(private readonly opts: LoginThrottleOptions) {
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.key = redisKeys(opts.keyPrefix).loginThrottle;
  }

  /** Call before checking the password: a slowed-down subject is refused without any scrypt work. */
  async check(account: string, ip: string | null): Promise<ThrottleVerdict> {
    const subjects = this.subjects(account, ip);
    const counters = await this.read(subjects);
    return this.verdict(subjects, counters, this.opts.clock.now());
  }

  /** Records a failed attempt; returns the verdict for the *next* attempt. */
  async fail(account: string, ip: string | null): Promise<ThrottleVerdict> {
    const now = this.opts.clock.now();
    const subjects = this.subjects(account, ip);
    const counters = await this.write(subjects, now);
    return this.verdict(subjects, counters, now);
  }

  async succeed(account: string, ip: string | null): Promise<void> {
    const keys = this.subjects(account, ip)
      .filter((s) => s.kind !== "ip")
      .map((s) => s.key);
    for (const k of keys) this.counters.delete(k);
    const r = this.shared();
    if (!r) return;
    try {
      await r.client.del(...keys);
    } catch (e) {
      r.reportFailure(e);
    }
  }

  private subjects(account: string, ip: string | null): Subject[] {
    const o = this.opts;
    const a = h(account);
    const out: Subject[] = [{ kind: "source", key: this.key(`s:${a}:${h(ip ?? "-")}`), threshold: o.maxFailuresPerAccount, capSec: o.lockoutSec }];
    if (ip) out.push({ kind: "ip", key: this.key(`i:${h(ip)}`), threshold: o.maxFailuresPerIp, capSec: o.lockoutSec });
    out.push({ kind: "account", key: this.key(`a:${a}`), threshold: o.maxFailuresPerIp, capSec: Math.min(o.lockoutSec, o.accountMaxDelaySec ?? 60) });
    return out;
  }

  private verdict(subjects: Subject[], counters: Array<Counter | null>, now: number): ThrottleVerdict {
    let worst: ThrottleVerdict = { allowed: true };
    subjects.forEach((s, i) => {
      const c = counters[i];
      if (!c) return;
      const wait = c.last + slowDownSec(c.failures, s.threshold, s.capSec) * 1000 - now;
      if (wait > 0) {
        const sec = Math.ceil(wait / 1000);
        if (worst.allowed || sec > worst.retryAfterSec) worst = { allowed: false, retryAfterSec: sec, subject: s.kind };
      }
    });
    return worst;
  }

  private shared(): ThrottleRedis | null {
    const r = this.opts.redis;
    return r && r.status() === "up" ? r : null;
  }

  private async read(subjects: Subject[]): Promise<Array<Counter | null>> {
    const r = this.shared();
    if (r) {
      try {
        const p = r.client.pipeline();
        for (const s of subjects) p.hmget(s.key, "f", "l");
        const res = (await p.exec()) ?? [];
        return res.map(([err, v]) => {
          if (err) throw err;
          const [f, l] = v as [string | null, string | null];
          return f === null ? null : { failures: Number(f), last: Number(l ?? 0) };
        });
      } catch (e) {
        r.reportFailure(e);
        this.opts.logger?.warn({ err: (e as Error).message }, "login throttle: redis unavailable, counting in memory");
      }
    }
    const now = this.opts.clock.now();
    return subjects.map((s) => this.memoryGet(s.key, now));
  }

  private async write(subjects: Subject[], now: number): Promise<Counter[]> {
    const ttl = this.opts.windowSec * 1000 + this.opts.lockoutSec * 1000;
    const r = this.shared();
    if (r) {
      try {
        const counts = (await r.client.eval(FAIL_LUA, subjects.length, ...subjects.map((s) => s.key), now, ttl)) as number[];
        return counts.map((f) => ({ failures: Number(f), last: now }));
      } catch (e) {
        r.reportFailure(e);
        this.opts.logger?.warn({ err: (e as Error).message }, "login throttle: redis unavailable, counting in memory");
      }
    }
    return subjects.map((s) => {
      const c = this.memoryGet(s.key, now) ?? { failures: 0, last: now };
      c.failures += 1;
      c.last = now;
      this.counters.delete(s.key);
      this.counters.set(s.key, c);
      this.evict();
      return c;
    });
  }

  /** A counter whose window (since its last failure) has passed starts over. */
  private memoryGet(key: string, now: number): Counter | null {
    const c = this.counters.get(key);
    if (!c) return null;
    if (now - c.last >= this.opts.windowSec * 1000 + this.opts.lockoutSec * 1000) {
      this.counters.delete(key);
      return null;
    }
    return c;
  }

  private evict(): void {
    while (this.counters.size > this.maxEntries) {
      const oldest = this.counters.keys().next().value;
      if (oldest === undefined) break;
      this.counters.delete(oldest);
    }
  }
}
