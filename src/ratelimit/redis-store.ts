import type { Redis } from "ioredis";
import { ADMIT_LUA, LEASE_LUA, PEEK_LUA, RENEW_LUA, SETTLE_LUA } from "./lua.js";
import type { AdmitResult, Check, LeaseEntry, LeaseReply, LimitStore, SettleEntry } from "./types.js";
import { redisKeys } from "../redis/keys.js";

type ScriptFn = (numKeys: number, ...args: Array<string | number>) => Promise<unknown>;
interface ScriptedRedis {
  rlAdmit: ScriptFn;
  rlSettle: ScriptFn;
  rlRenew: ScriptFn;
  rlPeek: ScriptFn;
  rlLease: ScriptFn;
}

const KIND_CODE = { requests: "r", tokens: "t", concurrency: "c" } as const;
/** Upper case: the key may carry leases, which count as taken. */
const LEASED_CODE = { requests: "R", tokens: "T", concurrency: "C" } as const;
const code = (c: Check): string => (c.leased ? LEASED_CODE[c.kind] : KIND_CODE[c.kind]);

/** Registers the scripts once per client (EVALSHA, with ioredis falling back to EVAL on NOSCRIPT). */
function scripted(client: Redis): ScriptedRedis {
  const c = client as unknown as Partial<ScriptedRedis> & Redis;
  if (typeof c.rlLease !== "function") {
    // numberOfKeys omitted: the first argument of each call is the key count.
    c.defineCommand("rlAdmit", { lua: ADMIT_LUA });
    c.defineCommand("rlSettle", { lua: SETTLE_LUA });
    c.defineCommand("rlRenew", { lua: RENEW_LUA });
    c.defineCommand("rlPeek", { lua: PEEK_LUA, readOnly: true });
    c.defineCommand("rlLease", { lua: LEASE_LUA });
  }
  return c as unknown as ScriptedRedis;
}

/**
 * Limits in Redis: one EVALSHA per admission. `prefix` namespaces every key (tests use a unique one per
 * run); the `{rl}` hash tag keeps all keys of one script call in one Redis Cluster slot.
 */
export class RedisLimitStore implements LimitStore {
  readonly kind = "redis" as const;
  private readonly r: ScriptedRedis;
  private readonly base: string;

  constructor(client: Redis, prefix: string) {
    this.r = scripted(client);
    this.base = redisKeys(prefix).rateLimitBase;
  }

  async admit(checks: readonly Check[], id: string, now: number, leaseMs: number): Promise<AdmitResult> {
    const n = checks.length;
    const args: Array<string | number> = new Array(n + 4);
    let spec = "";
    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      args[i] = this.base + c.key;
      spec += `${code(c)},${c.limit},${c.windowMs},${c.cost};`;
    }
    args[n] = now;
    args[n + 1] = id;
    args[n + 2] = leaseMs;
    args[n + 3] = spec;
    const raw = (await this.r.rlAdmit(n, ...args)) as number[];
    const used = raw.slice(3).map(Number);
    if (raw[0] === 1) return { ok: true, used };
    return { ok: false, failed: Number(raw[1]) - 1, retryAfterMs: Number(raw[2]), used };
  }

  async settle(entries: readonly SettleEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const keys: string[] = [];
    const ids: string[] = [];
    let spec = "";
    for (const e of entries) {
      keys.push(this.base + e.key);
      ids.push(e.id);
      spec += e.kind === "tokens" ? `t,${e.estimated},${e.actual};` : "c,0,0;";
    }
    await this.r.rlSettle(keys.length, ...keys, ...ids, spec);
  }

  async renew(leases: ReadonlyArray<{ key: string; id: string }>, until: number, leaseMs: number): Promise<void> {
    if (leases.length === 0) return;
    const keys = leases.map((l) => this.base + l.key);
    await this.r.rlRenew(keys.length, ...keys, until, leaseMs, ...leases.map((l) => l.id));
  }

  async peek(checks: readonly Check[], now: number): Promise<number[]> {
    if (checks.length === 0) return [];
    const keys: string[] = [];
    const argv: Array<string | number> = [now];
    for (const c of checks) {
      keys.push(this.base + c.key);
      argv.push(code(c), c.windowMs);
    }
    const raw = (await this.r.rlPeek(keys.length, ...keys, ...argv)) as number[];
    return raw.map(Number);
  }

  /** Settles and takes leases of many keys in one call (see LEASE_LUA). */
  async lease(entries: readonly LeaseEntry[], now: number, leaseMs: number): Promise<LeaseReply[]> {
    const n = entries.length;
    const keys: string[] = new Array(n);
    const olds: string[] = new Array(n);
    const nexts: string[] = new Array(n);
    let spec = "";
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      keys[i] = this.base + e.key;
      olds[i] = e.old ?? "";
      nexts[i] = e.next;
      spec += `${KIND_CODE[e.kind]},${e.limit},${e.windowMs},${e.grant},${e.settle},${e.base},${e.ask};`;
    }
    const raw = (await this.r.rlLease(n, ...keys, now, leaseMs, spec, ...olds, ...nexts)) as number[];
    // The script skips an entry its spec parser cannot read: every reply after it would be another key's.
    if (raw.length !== 3 * n) throw new Error(`rate-limit lease: ${raw.length / 3} replies for ${n} keys`);
    const out: LeaseReply[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = { granted: Number(raw[3 * i]), others: Number(raw[3 * i + 1]), waitMs: Number(raw[3 * i + 2]) };
    return out;
  }
}
