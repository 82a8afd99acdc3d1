import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { ConfigError, type Env } from "../config/env.js";
import { loadGatewayConfig } from "../config/gateway-config.js";
import type { Logger } from "../core/logger.js";
import { openDatabase } from "../db/client.js";
import { servePrimaryMetrics } from "../metrics/cluster.js";
import { ensureDataDir, ensureDemoKey, resolveAdminToken } from "./bootstrap.js";

/** WORKERS=auto|N → the number of HTTP processes on this box. */
export function workerCount(env: Env): number {
  return env.WORKERS === "auto" ? Math.max(1, availableParallelism()) : Number(env.WORKERS);
}

/**
 * Built-in multi-process mode (node:cluster). The primary process serves nothing itself: it applies
 * migrations and creates the shared admin token / demo key once (so workers never race on them),
 * then forks the workers, which share the listening socket. Limits and balances stay exact across
 * workers for the same reason they do across boxes: holds are taken in PostgreSQL and rate limits
 * in Redis. A worker that dies is replaced (at most once a second); SIGTERM/SIGINT are passed on,
 * each worker drains its own requests, and the primary exits when all have.
 *
 * Returns true in the primary (the caller must not start a gateway), false in a worker or when
 * WORKERS is 1.
 */
export async function runClusterPrimary(env: Env, vars: Record<string, string | undefined>, logger: Logger): Promise<boolean> {
  const n = workerCount(env);
  if (n <= 1 || !cluster.isPrimary) return false;
  if (!env.DATABASE_URL) throw new ConfigError("WORKERS > 1 needs DATABASE_URL (PostgreSQL): the embedded PGlite database belongs to one process");
  // Telegram allows one getUpdates consumer per bot; webhook mode works in every worker.
  if (env.TELEGRAM_BOT_TOKEN && env.TELEGRAM_MODE === "polling") throw new ConfigError("WORKERS > 1 needs TELEGRAM_MODE=webhook (or off): only one process may poll Telegram");

  const dataDir = ensureDataDir(env.DATA_DIR);
  const config = loadGatewayConfig(env, vars);
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir, poolSize: 2, pgliteSharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB });
  try {
    await database.migrate();
    resolveAdminToken(env.ADMIN_TOKEN, dataDir);
    if (config.demo) await ensureDemoKey(database.db, dataDir, env.DEMO_BALANCE);
  } finally {
    await database.close();
  }

  servePrimaryMetrics();
  let stopping = false;
  let lastRestart = 0;
  const fork = (): Worker => cluster.fork();
  cluster.on("exit", (w, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info("all workers stopped");
        process.exit(0);
      }
      return;
    }
    logger.error({ pid: w.process.pid, code, signal }, "worker died; starting a new one");
    const wait = Math.max(0, lastRestart + 1000 - Date.now());
    lastRestart = Date.now() + wait;
    setTimeout(fork, wait).unref();
  });
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: sig, workers: Object.keys(cluster.workers ?? {}).length }, "stopping workers");
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  for (let i = 0; i < n; i++) fork();
  logger.info({ workers: n }, "cluster primary started");
  return true;
}
