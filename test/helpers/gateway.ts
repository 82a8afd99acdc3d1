import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { loadEnv } from "../../src/config/env.js";
import { createLogger } from "../../src/core/logger.js";
import { startGateway, type RunningGateway } from "../../src/main/gateway.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import type { TestDatabase } from "./db.js";

export interface TestGatewayOptions {
  /** The database to use (from createPgliteDb / createPostgresDb); the gateway does not close it. */
  database: TestDatabase;
  /** Extra settings (strings, as in the environment). */
  env?: Record<string, string>;
  /** A gateway config file (providers/models) to write and pass as GATEWAY_CONFIG. */
  config?: unknown;
  /** Start the fake OpenAI upstream (test/fakes/openai-upstream.ts) and point UPSTREAM_BASE_URL at it (default true unless `config` is given). */
  mock?: boolean;
}

export interface TestGateway {
  url: string;
  adminToken: string;
  gateway: RunningGateway;
  /** The fake OpenAI upstream started for this gateway, if any. */
  mock: OpenAIUpstream | null;
  /** POST /admin/accounts then POST /v1/key/generate; returns the account id and key secret. */
  createAccountWithKey(opts?: { name?: string; balance?: string; keyName?: string; key?: Record<string, unknown> }): Promise<{ accountId: string; key: string; keyId: string }>;
  admin(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  openai(key: string, opts?: { maxRetries?: number }): OpenAI;
  stop(): Promise<void>;
}

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** A full gateway in this process on an ephemeral port, with its own data dir and (by default) the fake OpenAI upstream. */
export async function startTestGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "gw-test-"));
  const useMock = opts.mock ?? opts.config === undefined;
  const mock = useMock ? await startOpenAIUpstream() : null;
  const vars: Record<string, string> = {
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    ADMIN_TOKEN,
    METRICS_ENABLED: "false",
    // Most suites send model names nobody priced to the fake upstream: sell them at a flat price, as before
    // that became opt-in (the refusal has its own tests).
    BILLING_UNPRICED_HOLD: "1.00",
    ...(mock ? { UPSTREAM_BASE_URL: mock.baseUrl, UPSTREAM_API_KEY: "sk-upstream-secret-xyz" } : {}),
    ...(opts.env ?? {}),
  };
  if (opts.config !== undefined) {
    const path = join(dataDir, "gateway.json");
    writeFileSync(path, JSON.stringify(opts.config));
    vars.GATEWAY_CONFIG = path;
  }
  const env = loadEnv(vars);
  const gateway = await startGateway({ env, vars, database: opts.database, logger: createLogger({ level: vars.LOG_LEVEL ?? "silent" }) });
  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(gateway.url + path, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  return {
    url: gateway.url,
    adminToken: ADMIN_TOKEN,
    gateway,
    mock,
    admin,
    async createAccountWithKey(o = {}) {
      const a = await admin("/admin/accounts", { body: { name: o.name ?? "Test account", initial_balance: o.balance ?? "100.00" } });
      if (a.status !== 201) throw new Error(`create account: ${a.status} ${await a.text()}`);
      const acct = (await a.json()) as { id: string };
      const k = await admin("/v1/key/generate", { body: { account_id: acct.id, name: o.keyName ?? "test", ...(o.key ?? {}) } });
      if (k.status !== 201) throw new Error(`generate key: ${k.status} ${await k.text()}`);
      const key = (await k.json()) as { id: string; key: string };
      return { accountId: acct.id, key: key.key, keyId: key.id };
    },
    openai: (key, o = {}) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: o.maxRetries ?? 0, timeout: 20_000 }),
    async stop() {
      await gateway.stop();
      if (mock) await mock.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed (stdout + stderr). */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * A gateway as a separate OS process (`node --import tsx src/main/server.ts`), for multi-process
 * tests (shared PostgreSQL/Redis) and shutdown tests. Resolves once it listens.
 */
export async function spawnGateway(env: Record<string, string>, opts: { startTimeoutMs?: number } = {}): Promise<GatewayProcess> {
  // A first start runs initdb (seconds of CPU): on a loaded CI box that is tens of seconds of wall time.
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), "gw-proc-"));
  const child = spawn(process.execPath, ["--import", "tsx", "src/main/server.ts"], {
    cwd: new URL("../..", import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ADMIN_TOKEN, DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gateway did not start in ${startTimeoutMs / 1000} s:\n${out}`));
    }, startTimeoutMs);
    const check = () => {
      // The start banner is printed at any log level, after the server listens.
      const m = /LLM Gateway on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
  };
}
