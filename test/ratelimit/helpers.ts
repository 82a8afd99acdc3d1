import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../src/core/logger.js";
import type { AuthContext } from "../../src/proxy/types.js";
import type { LimitTriple, RateLimitSettings } from "../../src/ratelimit/index.js";

/** A clock tests move by hand. */
export class FakeClock {
  t = 1_800_000_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const OFF: LimitTriple = { rpm: 0, tpm: 0, concurrency: 0 };

export function settings(over: Partial<RateLimitSettings> = {}): RateLimitSettings {
  return {
    windowSeconds: 60,
    key: { rpm: 30, tpm: 0, concurrency: 0 },
    account: OFF,
    model: OFF,
    provider: OFF,
    global: OFF,
    leaseMs: 60_000,
    processes: 1,
    ...over,
  };
}

export function uniq(label = "t"): string {
  return `${label}${randomBytes(6).toString("hex")}`;
}

export function auth(over: Partial<AuthContext> = {}): AuthContext {
  return {
    keyId: uniq("key_"),
    accountId: uniq("acct_"),
    userId: null,
    scopes: ["inference"],
    allowedModels: null,
    ipAllowlist: null,
    keyLimits: {},
    accountLimits: {},
    keyRateLimits: null,
    keyOptions: {},
    tariffId: null,
    tariffRateLimits: null,
    ...over,
  };
}

/** A unique Redis key prefix per test run (the shared Redis is never flushed). */
export function testPrefix(): string {
  return `test:rl:${process.pid}:${randomBytes(4).toString("hex")}:`;
}

/** A logger that keeps its lines for assertions. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: "debug", base: undefined }, dest), lines };
}

export const silentLogger: Logger = pino({ level: "silent" });

let seq = 0;
export function reqId(): string {
  return `req_${process.pid}_${++seq}_${randomBytes(3).toString("hex")}`;
}
