/**
 * The chaos suite's own processes: a throw-away PostgreSQL cluster under /tmp, a redis-server, and
 * gateway processes — all on free loopback ports, all stopped and removed at the end. Never touches
 * the shared PostgreSQL on 5432 or Redis on 6379.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pgBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  throw new Error("chaos: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)");
}

/** initdb refuses to run as root: then the cluster belongs to the `postgres` user. */
function asPg(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return ["runuser", ["-u", "postgres", "--", cmd, ...args]];
  return [cmd, args];
}

function run(cmd: string, args: string[]): void {
  const [c, a] = asPg(cmd, args);
  const r = spawnSync(c, a, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`chaos: ${cmd} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
}

export class PgCluster {
  readonly dir: string;
  readonly bin = pgBin();
  constructor(readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), "chaos-pg-"));
    chmodSync(this.dir, 0o777);
  }
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
  init(): void {
    const data = join(this.dir, "data");
    run(join(this.bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  }
  start(): void {
    const data = join(this.dir, "data");
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    run(join(this.bin, "pg_ctl"), ["-D", data, "-o", opts, "-l", join(this.dir, "log"), "-w", "-t", "30", "start"]);
  }
  /** Crash-stop (like a power cut to the database). */
  stop(): void {
    run(join(this.bin, "pg_ctl"), ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"]);
  }
  destroy(): void {
    try {
      this.stop();
    } catch {
      /* not running */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class RedisServer {
  child: ChildProcess | null = null;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    for (let i = 0; i < 50; i++) {
      if (spawnSync("redis-cli", ["-p", String(this.port), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG") return;
      await sleep(100);
    }
    throw new Error("chaos: redis-server did not start");
  }
  pause(): void {
    this.child?.kill("SIGSTOP");
  }
  resume(): void {
    this.child?.kill("SIGCONT");
  }
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    c.kill("SIGCONT");
    c.kill("SIGKILL");
    await new Promise((r) => c.once("exit", r));
    this.child = null;
  }
}

export interface Gateway {
  url: string;
  child: ChildProcess;
  dataDir: string;
  output(): string;
}

const REPO = new URL("..", import.meta.url).pathname;

export async function startGateway(env: Record<string, string>, dataDir?: string): Promise<Gateway> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "chaos-gw-"));
  const child = spawn(process.execPath, ["--import", "tsx", "src/main/server.ts"], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", HOST: "127.0.0.1", PORT: "0", DATA_DIR: dir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  child.stderr!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`chaos: gateway did not start in 60 s:\n${out.slice(-3000)}`));
    }, 60_000);
    const check = () => {
      const m = /LLM Gateway on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", check);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chaos: gateway exited with ${code}:\n${out.slice(-3000)}`));
    });
  });
  return { url, child, dataDir: dir, output: () => out };
}

export async function killGateway(g: Gateway, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (g.child.exitCode !== null || g.child.signalCode !== null) return;
  const exited = new Promise((r) => g.child.once("exit", r));
  g.child.kill(signal);
  await Promise.race([exited, sleep(20_000)]);
  if (g.child.exitCode === null && g.child.signalCode === null) {
    g.child.kill("SIGKILL");
    await exited;
  }
}

export function writeJson(path: string, v: unknown): void {
  writeFileSync(path, JSON.stringify(v, null, 2));
}
