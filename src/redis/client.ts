import { EventEmitter } from "node:events";
import { Redis } from "ioredis";
import type { Logger } from "../core/logger.js";

export type RedisHealth = "up" | "down";

export interface RedisClientOptions {
  /**
   * A command that gets no reply within this many ms fails (and marks Redis down until a PING
   * answers). Bounds what a hung Redis (SIGSTOP, CLIENT PAUSE, a black-holed network) costs a request.
   */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Reconnect back-off cap; also how soon after Redis returns we notice it. */
  maxReconnectDelayMs?: number;
  /** While marked down with the socket still open (hung server), PING this often to notice recovery. */
  probeIntervalMs?: number;
  /** Appears in CLIENT LIST. */
  connectionName?: string;
}

/**
 * The one shared Redis connection of a process (rate limits, circuit breakers, response cache), with a
 * health flag callers check before touching Redis. Down means: skip Redis and use the local fallback.
 */
export interface RedisHandle {
  readonly client: Redis;
  /** The URL with any password replaced, for logs and /health. */
  readonly displayUrl: string;
  status(): RedisHealth;
  /** Called on every up/down transition; returns an unsubscribe function. */
  onChange(listener: (status: RedisHealth) => void): () => void;
  /**
   * A caller's command failed without a Redis reply (timeout, connection lost). Marks Redis down until
   * the connection is re-established or a PING answers. Redis reply errors (WRONGTYPE, script errors)
   * are not connectivity faults and are ignored.
   */
  reportFailure(err: unknown): void;
  /** Resolves true once Redis is up, false after `timeoutMs`. */
  waitUntilUp(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** True for errors that say "no answer from Redis", as opposed to an answer that is an error. */
export function isConnectivityError(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  return err.name !== "ReplyError";
}

export function maskRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "redis://<unparseable>";
  }
}

/**
 * Connects to Redis (in the background; never throws) with settings that keep a dead Redis cheap:
 * no offline queue (commands fail at once while disconnected instead of piling up), no per-command
 * retries across reconnects, and a command timeout. Health transitions are logged once each.
 */
export function createRedis(url: string, logger: Logger, opts: RedisClientOptions = {}): RedisHandle {
  const commandTimeoutMs = opts.commandTimeoutMs ?? 250;
  const maxReconnectDelayMs = opts.maxReconnectDelayMs ?? 1000;
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs > 0 ? commandTimeoutMs : undefined,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    // Never give up reconnecting: Redis coming back must be noticed without a restart.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxReconnectDelayMs),
    autoResendUnfulfilledCommands: false,
    connectionName: opts.connectionName ?? "llm-gateway",
    lazyConnect: false,
    // Commands issued in the same tick (concurrent admissions, batched releases, breaker updates)
    // leave in one write: on this class of VM a socket write costs more than the limiter's script.
    enableAutoPipelining: true,
  });
  return attach(client, maskRedisUrl(url), logger, opts, true);
}

/**
 * Wraps a client built elsewhere (tests, embedders) in the same health tracking. Its options are the
 * caller's business; `close()` leaves the client open.
 */
export function adoptRedis(client: Redis, logger: Logger, opts: RedisClientOptions = {}): RedisHandle {
  const o = client.options;
  return attach(client, `redis://${o.host ?? "127.0.0.1"}:${o.port ?? 6379}/${o.db ?? 0}`, logger, opts, false);
}

function attach(client: Redis, displayUrl: string, logger: Logger, opts: RedisClientOptions, owned: boolean): RedisHandle {
  const probeIntervalMs = opts.probeIntervalMs ?? 500;
  const log = logger.child({ component: "redis" });

  const events = new EventEmitter();
  events.setMaxListeners(100);
  let health: RedisHealth = client.status === "ready" ? "up" : "down";
  let everUp = health === "up";
  let loggedUnreachable = false;
  let closed = false;
  let probe: NodeJS.Timeout | null = null;

  const set = (next: RedisHealth, why: string, err?: unknown) => {
    if (closed || next === health) return;
    health = next;
    if (next === "up") {
      stopProbe();
      if (everUp) log.warn({ url: displayUrl }, "redis is reachable again");
      else log.info({ url: displayUrl }, "redis connected");
      everUp = true;
      loggedUnreachable = false;
    } else {
      log.warn({ url: displayUrl, reason: why, err: errMessage(err) }, "redis is unreachable; using local fallbacks");
      loggedUnreachable = true;
    }
    events.emit("change", next);
  };

  const stopProbe = () => {
    if (probe) clearInterval(probe);
    probe = null;
  };
  const startProbe = () => {
    if (probe || closed) return;
    probe = setInterval(() => {
      // While disconnected, ioredis' own reconnect brings the "ready" event; probing only helps
      // when the socket is open but the server stopped answering.
      if (client.status !== "ready") return;
      client.ping().then(
        () => set("up", "ping answered"),
        () => undefined,
      );
    }, probeIntervalMs);
    probe.unref();
  };

  const onReady = () => set("up", "ready");
  const onClose = () => set("down", "connection closed");
  const onEnd = () => set("down", "connection ended");
  const onError = (err: unknown) => {
    // ioredis emits an error per failed reconnect attempt; log the first, keep the rest at debug.
    if (!everUp && !loggedUnreachable) {
      loggedUnreachable = true;
      log.warn({ url: displayUrl, err: errMessage(err) }, "redis is unreachable; using local fallbacks");
    } else {
      log.debug({ err: errMessage(err) }, "redis error");
    }
  };
  client.on("ready", onReady);
  client.on("close", onClose);
  client.on("end", onEnd);
  client.on("error", onError);

  return {
    client,
    displayUrl,
    status: () => health,
    onChange(listener) {
      events.on("change", listener);
      return () => events.off("change", listener);
    },
    reportFailure(err) {
      if (closed || !isConnectivityError(err)) return;
      set("down", "command failed", err);
      startProbe();
    },
    waitUntilUp(timeoutMs) {
      if (health === "up") return Promise.resolve(true);
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          events.off("change", on);
          resolve(health === "up");
        }, timeoutMs);
        const on = (s: RedisHealth) => {
          if (s !== "up") return;
          clearTimeout(t);
          events.off("change", on);
          resolve(true);
        };
        events.on("change", on);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      health = "down";
      stopProbe();
      events.removeAllListeners();
      if (!owned) {
        client.off("ready", onReady).off("close", onClose).off("end", onEnd).off("error", onError);
        return;
      }
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

function errMessage(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  return err instanceof Error ? err.message : String(err);
}
