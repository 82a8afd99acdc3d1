import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, createServer } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../src/core/logger.js";
import type { AuthContext } from "../../src/contracts/request.js";
import type { LimitTriple, RateLimitSettings } from "../../src/ratelimit/index.js";
import { testAuth } from "../helpers/auth.js";

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
  return testAuth({ keyId: uniq("key_"), accountId: uniq("acct_"), ...over });
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

/** Our own throw-away redis-server: the shared one on 6379 is never stopped. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], {
    stdio: "ignore",
  });
  const deadline = Date.now() + 5000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (up) return child;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

export async function until(cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

