import type { AddressInfo } from "node:net";
import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import type { Env } from "../config/env.js";
import { loadGatewayConfig } from "../config/gateway-config.js";
import type { Clock } from "../core/clock.js";
import { createLogger, type Logger } from "../core/logger.js";
import { openDatabase, type Database } from "../db/client.js";
import { createApp } from "../http/app.js";
import { createInferenceFront, type InferenceFront } from "../http/inference-front.js";
import { startMockUpstream, type MockUpstream } from "../mock/server.js";
import { ensureAllowedKeys } from "../keys/allowed-keys.js";
import { ensureDataDir, ensureDemoKey, resolveAdminToken } from "./bootstrap.js";
import { buildServices, type Services } from "./services.js";

/**
 * Connections the kernel completes and queues before the gateway accepts them (capped by
 * net.core.somaxconn). Node's default, 511, drops the SYNs of a burst beyond it: with thousands of
 * streams opened at once, clients retried and hit their connect timeouts while the event loop was
 * still accepting the first ones.
 */
const LISTEN_BACKLOG = 4096;

export interface StartOptions {
  env: Env;
  /** Environment snapshot for `${VAR}` substitution in the config file. */
  vars: Record<string, string | undefined>;
  logger?: Logger;
  clock?: Clock;
  /** Use an existing database (tests); otherwise one is opened from env. */
  database?: Database;
}

export interface RunningGateway {
  url: string;
  port: number;
  deps: Services;
  adminToken: string;
  /** True only on the start that generated the admin token (the one time it may be printed). */
  adminTokenGenerated: boolean;
  /** Set in demo mode: a working key for the demo account. */
  demoKey: string | null;
  mock: MockUpstream | null;
  /** The node:http front of the inference routes; null with INFERENCE_FRONT=false. */
  front: InferenceFront | null;
  /** Graceful stop: refuse new connections, drain in-flight requests, flush logs and billing, close. */
  stop(): Promise<void>;
}

export async function startGateway(opts: StartOptions): Promise<RunningGateway> {
  const { env } = opts;
  const logger = opts.logger ?? createLogger({ level: env.LOG_LEVEL });
  const config = loadGatewayConfig(env, opts.vars);
  const dataDir = ensureDataDir(env.DATA_DIR);
  const ownsDatabase = !opts.database;
  const database = opts.database ?? (await openDatabase({
      databaseUrl: env.DATABASE_URL,
      dataDir,
      poolSize: env.DATABASE_POOL_SIZE,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS,
      pgliteSharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB,
      pgliteWorker: env.PGLITE_WORKER,
    }));
  await database.migrate();
  await ensureAllowedKeys(database.db, env.ALLOWED_API_KEYS);

  const needsMock = config.providers.some((p) => p.type === "mock" && !p.base_url);
  const mock = needsMock ? await startMockUpstream({ host: "127.0.0.1", port: 0 }) : null;

  const { token: adminToken, generated } = resolveAdminToken(env.ADMIN_TOKEN, dataDir);
  const services = buildServices({ env, config, database, redis: null, logger, adminToken, mockBaseUrl: mock?.baseUrl ?? null, clock: opts.clock });
  try {
    // Checks ENCRYPTION_KEY against the stored upstream keys (a mismatch stops start-up) and loads the runtime routes.
    await services.routing.start();
  } catch (e) {
    for (const c of services.closers) await Promise.resolve(c.close()).catch(() => undefined);
    if (mock) await mock.close();
    if (ownsDatabase) await database.close();
    throw e;
  }
  const app = createApp(services);

  // Hono's adapter serves everything; the inference front (when on) takes plain API calls ahead of it.
  const hono = getRequestListener(app.fetch, { hostname: env.HOST });
  const front = env.INFERENCE_FRONT ? createInferenceFront(services, hono) : null;
  const server = createServer(front ? front.listener : hono);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: env.PORT, host: env.HOST, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const url = `http://${env.HOST.includes(":") ? `[${env.HOST}]` : env.HOST}:${port}`;

  const demoKey = config.demo ? await ensureDemoKey(database.db, dataDir, env.DEMO_BALANCE) : null;

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const deadline = Date.now() + env.SHUTDOWN_GRACE_MS;
      while (services.inflight.count > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      if (services.inflight.count > 0) logger.warn({ inflight: services.inflight.count }, "shutdown grace period over; closing remaining connections");
      server.closeAllConnections();
      await closed;
      for (const c of services.closers) {
        try {
          await c.close();
        } catch (e) {
          logger.error({ closer: c.name, err: (e as Error).message }, "error while closing");
        }
      }
      if (mock) await mock.close();
      if (ownsDatabase) await database.close();
    })();
    return stopping;
  };

  if (config.demo) logger.warn("DEMO MODE: no upstream configured (OPENROUTER_API_KEY, UPSTREAM_BASE_URL or GATEWAY_CONFIG); the built-in mock provider answers every request");
  if (generated) logger.info("generated a new admin token (kept in DATA_DIR/admin-token)");
  logger.info({ url, database: database.kind, providers: config.providers.map((p) => p.id), models: config.models.length, demo: config.demo }, "gateway listening");
  return { url, port, deps: services, adminToken, adminTokenGenerated: generated, demoKey, mock, front, stop };
}
