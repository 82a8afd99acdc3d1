import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { systemClock, type Clock } from "../core/clock.js";
import { redisKeys, type RedisKeys } from "../redis/keys.js";
import {
  DEFAULT_BREAKER_OPTIONS,
  LocalCircuitBreakers,
  validateBreakerOptions,
  type Admission,
  type BreakerOptions,
  type BreakerSnapshot,
  type CircuitBreakers,
  type CircuitState,
} from "./circuit-breaker.js";

/**
 * Breakers whose state lives in Redis, so every gateway process opens and closes a circuit
 * together. The hot path stays local: a process keeps a mirror of each key's state and only asks
 * Redis before an attempt when the mirror says the circuit is not closed. Every recorded outcome
 * returns the shared state (so a process learns of an opened circuit on its next completed call),
 * and a timer refreshes the mirror for keys that see no traffic here.
 *
 * Redis errors never fail a request: the breakers fall back to this process's own state (which
 * records every outcome all along) until Redis answers again.
 *
 * One hash per key: state, opened_at, retry_at, probe_until and a ring of window buckets
 * e<i>/t<i>/f<i> (epoch, total, failures), so the key has a bounded size.
 */

// KEYS[1] hash. ARGV: now, okCount, failCount, probe(1/0), bucketMs, buckets, minRequests, failureRate, cooldownMs, ttlMs
// (a probe carries one outcome) → { state, retry_at, requests, failures, opened_at }
const RECORD_LUA = `
local k = KEYS[1]
local now = tonumber(ARGV[1]); local nOk = tonumber(ARGV[2]); local nFail = tonumber(ARGV[3]); local probe = ARGV[4] == '1'
local ok = nFail == 0
local bucketMs = tonumber(ARGV[5]); local n = tonumber(ARGV[6]); local minReq = tonumber(ARGV[7])
local rate = tonumber(ARGV[8]); local cooldown = tonumber(ARGV[9]); local ttl = tonumber(ARGV[10])
local st = redis.call('HGET', k, 'state') or 'closed'
local function counts(epoch)
  local req, fl = 0, 0
  for i = 0, n - 1 do
    local v = redis.call('HMGET', k, 'e'..i, 't'..i, 'f'..i)
    if v[1] and tonumber(v[1]) > epoch - n then req = req + tonumber(v[2] or 0); fl = fl + tonumber(v[3] or 0) end
  end
  return req, fl
end
local function open()
  redis.call('DEL', k)
  redis.call('HSET', k, 'state', 'open', 'opened_at', now, 'retry_at', now + cooldown)
  redis.call('PEXPIRE', k, ttl + cooldown)
  return {'open', now + cooldown, 0, 0, now}
end
if probe then
  if st ~= 'half_open' then return {st, redis.call('HGET', k, 'retry_at') or false, 0, 0, redis.call('HGET', k, 'opened_at') or false} end
  if ok then redis.call('DEL', k); return {'closed', false, 0, 0, false} end
  return open()
end
if st ~= 'closed' then return {st, redis.call('HGET', k, 'retry_at') or false, 0, 0, redis.call('HGET', k, 'opened_at') or false} end
local epoch = math.floor(now / bucketMs)
local slot = epoch % n
local e = redis.call('HGET', k, 'e'..slot)
if e ~= tostring(epoch) then redis.call('HSET', k, 'e'..slot, epoch, 't'..slot, 0, 'f'..slot, 0) end
redis.call('HINCRBY', k, 't'..slot, nOk + nFail)
if nFail > 0 then redis.call('HINCRBY', k, 'f'..slot, nFail) end
redis.call('PEXPIRE', k, ttl)
local req, fl = counts(epoch)
if (not ok) and req >= minReq and fl >= rate * req then return open() end
return {'closed', false, req, fl, false}
`;

// KEYS[1] hash. ARGV: now, probeTimeoutMs → { admission, state, retry_at }
const ACQUIRE_LUA = `
local k = KEYS[1]
local now = tonumber(ARGV[1]); local probeTimeout = tonumber(ARGV[2])
local v = redis.call('HMGET', k, 'state', 'retry_at', 'probe_until')
local st = v[1] or 'closed'
if st == 'closed' then return {'allow', 'closed', false} end
if st == 'open' and now < tonumber(v[2] or 0) then return {'deny', 'open', v[2]} end
if st == 'half_open' and now < tonumber(v[3] or 0) then return {'deny', 'half_open', v[3]} end
redis.call('HSET', k, 'state', 'half_open', 'probe_until', now + probeTimeout)
redis.call('PEXPIRE', k, probeTimeout * 2 + 60000)
return {'probe', 'half_open', false}
`;

function sha1(s: string) {
  return createHash("sha1").update(s).digest("hex");
}

interface Mirror {
  state: CircuitState;
  retryAt: number | null;
  openedAt: number | null;
  requests: number;
  failures: number;
}

export interface RedisBreakerOptions {
  redis: Redis;
  /** Key prefix, e.g. `gw:`; tests use a unique one per run. */
  prefix: string;
  options?: BreakerOptions;
  clock?: Clock;
  /** How often the mirror of every known key is refreshed from Redis. 0 = never (tests). */
  syncMs?: number;
  onError?: (err: unknown) => void;
  /** The shared handle's health flag (src/redis): while it says down, Redis is not even tried. */
  isUp?: () => boolean;
  /** Successes are sent to Redis in batches at most this often (failures at once). Default 100. */
  flushMs?: number;
}

export class RedisCircuitBreakers implements CircuitBreakers {
  readonly local: LocalCircuitBreakers;
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly opts: BreakerOptions;
  private readonly clock: Clock;
  private readonly mirror = new Map<string, Mirror>();
  private readonly timer: NodeJS.Timeout | null;
  private readonly onError: (err: unknown) => void;
  private readonly isUp: () => boolean;
  /** False after a Redis error until the next successful call. */
  private healthy = true;
  private pending = new Map<string, { ok: number; fail: number }>();
  private nextFlush: Promise<void> | null = null;
  private resolveFlush: (() => void) | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private readonly flushMs: number;
  private readonly recordSha = sha1(RECORD_LUA);
  private readonly acquireSha = sha1(ACQUIRE_LUA);

  constructor(o: RedisBreakerOptions) {
    this.redis = o.redis;
    this.keys = redisKeys(o.prefix);
    this.opts = validateBreakerOptions(o.options ?? DEFAULT_BREAKER_OPTIONS);
    this.clock = o.clock ?? systemClock;
    this.local = new LocalCircuitBreakers(this.opts, this.clock);
    this.onError = o.onError ?? (() => undefined);
    this.isUp = o.isUp ?? (() => true);
    this.flushMs = o.flushMs ?? 100;
    const syncMs = o.syncMs ?? 1000;
    this.timer = syncMs > 0 ? setInterval(() => void this.sync(), syncMs) : null;
    this.timer?.unref();
  }

  /** Decisions use the shared state only while Redis answers. */
  get redisHealthy(): boolean {
    return this.healthy && this.isUp();
  }

  private hashKey(key: string) {
    return this.keys.circuitBreaker(key);
  }

  private async evalScript(sha: string, script: string, key: string, args: (string | number)[]): Promise<unknown[]> {
    try {
      return (await this.redis.evalsha(sha, 1, key, ...args)) as unknown[];
    } catch (e) {
      if (!String((e as Error).message).includes("NOSCRIPT")) throw e;
      return (await this.redis.eval(script, 1, key, ...args)) as unknown[];
    }
  }

  private fail(e: unknown) {
    this.healthy = false;
    this.onError(e);
  }

  peek(key: string) {
    if (!this.redisHealthy) return this.local.peek(key);
    const m = this.mirror.get(key);
    // First sight of a key: track it so the sync timer learns its shared state.
    if (!m) this.mirror.set(key, { state: "closed", retryAt: null, openedAt: null, requests: 0, failures: 0 });
    if (!m || m.state === "closed") return { state: "closed" as const, retryAt: null, available: true };
    // Half-open in the mirror: another process may hold the probe; acquire() asks Redis.
    return { state: m.state, retryAt: m.retryAt, available: m.state === "half_open" || this.clock.now() >= (m.retryAt ?? 0) };
  }

  acquire(key: string): Admission | Promise<Admission> {
    if (!this.redisHealthy) return this.local.acquire(key);
    const m = this.mirror.get(key);
    if (!m || m.state === "closed") return "allow";
    return this.acquireRemote(key);
  }

  private async acquireRemote(key: string): Promise<Admission> {
    try {
      const r = await this.evalScript(this.acquireSha, ACQUIRE_LUA, this.hashKey(key), [this.clock.now(), this.opts.probeTimeoutMs]);
      this.healthy = true;
      const admission = String(r[0]) as Admission;
      const state = String(r[1]) as CircuitState;
      const prev = this.mirror.get(key);
      this.mirror.set(key, {
        state,
        retryAt: r[2] ? Number(r[2]) : (prev?.retryAt ?? null),
        openedAt: prev?.openedAt ?? null,
        requests: 0,
        failures: 0,
      });
      return admission;
    } catch (e) {
      this.fail(e);
      return this.local.acquire(key);
    }
  }

  /**
   * Probe outcomes go to Redis at once. Other outcomes are counted per key and sent in one
   * pipelined script call per key per flush: a failure flushes on the next tick (circuits must
   * open promptly), successes within flushMs — so the happy path costs no Redis call per request.
   */
  record(key: string, ok: boolean, admission: Admission): Promise<void> {
    if (admission === "deny") return Promise.resolve();
    // The local breakers see every outcome, so a Redis outage starts from a warm window.
    this.local.recordSync(key, ok, admission);
    // Tried even after an error (it is off the request path): its success is how we notice recovery.
    if (!this.isUp()) return Promise.resolve();
    if (admission === "probe") return this.recordNow(key, ok ? 1 : 0, ok ? 0 : 1, true);
    let c = this.pending.get(key);
    if (!c) this.pending.set(key, (c = { ok: 0, fail: 0 }));
    if (ok) c.ok++;
    else c.fail++;
    this.nextFlush ??= new Promise<void>((r) => (this.resolveFlush = r));
    if (!ok || this.flushMs === 0) {
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      this.immediate ??= setImmediate(() => void this.flush());
    } else if (!this.flushTimer && !this.immediate) {
      this.flushTimer = setTimeout(() => void this.flush(), this.flushMs);
      this.flushTimer.unref();
    }
    return this.nextFlush;
  }

  private recordArgs(nOk: number, nFail: number, probe: boolean): (string | number)[] {
    const o = this.opts;
    return [this.clock.now(), nOk, nFail, probe ? 1 : 0, o.windowMs / o.buckets, o.buckets, o.minRequests, o.failureRate, o.cooldownMs, o.windowMs * 2];
  }

  private async recordNow(key: string, nOk: number, nFail: number, probe: boolean): Promise<void> {
    try {
      const r = await this.evalScript(this.recordSha, RECORD_LUA, this.hashKey(key), this.recordArgs(nOk, nFail, probe));
      this.healthy = true;
      this.applyRemote(key, r);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Sends every counted outcome (one pipeline) and resolves the callers waiting on it. */
  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.immediate) clearImmediate(this.immediate);
    this.flushTimer = null;
    this.immediate = null;
    const batch = this.pending;
    const resolve = this.resolveFlush;
    this.pending = new Map();
    this.nextFlush = null;
    this.resolveFlush = null;
    if (batch.size > 0 && this.isUp()) {
      const keys = [...batch.keys()];
      try {
        const p = this.redis.pipeline();
        // EVAL, not EVALSHA: once per key per flush, and no NOSCRIPT round trip after a Redis restart.
        for (const k of keys) {
          const c = batch.get(k)!;
          p.eval(RECORD_LUA, 1, this.hashKey(k), ...this.recordArgs(c.ok, c.fail, false));
        }
        const res = (await p.exec()) ?? [];
        res.forEach(([err, r], i) => {
          if (err) throw err;
          this.applyRemote(keys[i]!, r as unknown[]);
        });
        this.healthy = true;
      } catch (e) {
        this.fail(e);
      }
    }
    resolve?.();
  }

  private applyRemote(key: string, r: unknown[]) {
    const m: Mirror = {
      state: String(r[0]) as CircuitState,
      retryAt: r[1] ? Number(r[1]) : null,
      requests: Number(r[2] ?? 0),
      failures: Number(r[3] ?? 0),
      openedAt: r[4] ? Number(r[4]) : null,
    };
    this.mirror.set(key, m);
    this.local.adopt(key, m.state, m.openedAt, m.retryAt);
  }

  /** Refresh the mirror of every known key from Redis (one pipeline). */
  async sync(): Promise<void> {
    if (!this.isUp()) return;
    const keys = [...new Set([...this.mirror.keys(), ...this.local.keys()])];
    if (keys.length === 0) return;
    try {
      const p = this.redis.pipeline();
      for (const k of keys) p.hmget(this.hashKey(k), "state", "retry_at", "opened_at");
      const res = (await p.exec()) ?? [];
      res.forEach(([err, v], i) => {
        if (err) throw err;
        const [state, retryAt, openedAt] = v as (string | null)[];
        const key = keys[i]!;
        const prev = this.mirror.get(key);
        const m: Mirror = {
          state: (state as CircuitState | null) ?? "closed",
          retryAt: retryAt ? Number(retryAt) : null,
          openedAt: openedAt ? Number(openedAt) : null,
          requests: m0(prev?.requests),
          failures: m0(prev?.failures),
        };
        this.mirror.set(key, m);
        this.local.adopt(key, m.state, m.openedAt, m.retryAt);
      });
      this.healthy = true;
    } catch (e) {
      this.fail(e);
    }
  }

  snapshot(key: string): BreakerSnapshot {
    if (!this.redisHealthy) return this.local.snapshot(key);
    const m = this.mirror.get(key);
    if (!m) return { ...this.local.snapshot(key), source: "redis" };
    return {
      key,
      state: m.state,
      requests: m.requests,
      failures: m.failures,
      failureRate: m.requests ? m.failures / m.requests : 0,
      openedAt: m.openedAt,
      retryAt: m.retryAt,
      source: "redis",
    };
  }

  list(): BreakerSnapshot[] {
    const keys = [...new Set([...this.mirror.keys(), ...this.local.keys()])].sort();
    return keys.map((k) => this.snapshot(k));
  }

  async reset(key: string): Promise<void> {
    await this.local.reset(key);
    this.mirror.delete(key);
    try {
      await this.redis.del(this.hashKey(key));
    } catch (e) {
      this.fail(e);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    void this.flush();
  }
}

function m0(n: number | undefined) {
  return n ?? 0;
}
