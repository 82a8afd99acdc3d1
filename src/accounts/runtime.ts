import type { Env } from "../config/env.js";
import type { Clock } from "../core/clock.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../core/logger.js";
import { LoginThrottle } from "./login-throttle.js";
import { pruneAuthState } from "./replay.js";
import { resolveJwtSecret } from "./secrets.js";
import type { TokenSettings } from "./sessions.js";

/**
 * Per-gateway state of the accounts module: the signing secret (resolved once, lazily, from
 * JWT_SECRET or the database) and the login throttle. Keyed by the gateway's deps object so every
 * router and middleware of one gateway shares it, and two gateways in one process (tests) don't.
 */
export interface AuthRuntime {
  tokens(): Promise<TokenSettings>;
  /**
   * Deletes expired one-time auth state (replay markers, login nonces, refresh tokens) at most once
   * per PRUNE_EVERY_MS, in the background; called from the login and DID paths, so no separate job
   * is needed and an idle gateway does no work.
   */
  maybePrune(): void;
  throttle: LoginThrottle;
  cookieSecure: boolean;
}

export interface RuntimeDeps {
  db: Db;
  env: Env;
  clock: Clock;
  logger?: Logger;
}

const PRUNE_EVERY_MS = 10 * 60_000;

const runtimes = new WeakMap<object, AuthRuntime>();

export function authRuntime(deps: RuntimeDeps): AuthRuntime {
  let rt = runtimes.get(deps);
  if (rt) return rt;
  const { env } = deps;
  let settings: Promise<TokenSettings> | null = null;
  let lastPrune = deps.clock.now();
  let pruning = false;
  rt = {
    maybePrune() {
      const now = deps.clock.now();
      if (pruning || now - lastPrune < PRUNE_EVERY_MS) return;
      lastPrune = now;
      pruning = true;
      pruneAuthState(deps.db, new Date(now))
        .catch((e: unknown) => deps.logger?.warn({ err: (e as Error).message }, "auth state pruning failed"))
        .finally(() => {
          pruning = false;
        });
    },
    tokens() {
      settings ??= resolveJwtSecret(deps.db, env.JWT_SECRET).then(
        (s) => ({ secret: s.secret, accessTtlSec: env.ACCESS_TOKEN_TTL_SEC, refreshTtlSec: env.REFRESH_TOKEN_TTL_SEC }),
        (e: unknown) => {
          settings = null; // a database hiccup at first use must not poison every later request
          throw e;
        },
      );
      return settings;
    },
    throttle: new LoginThrottle({
      clock: deps.clock,
      maxFailuresPerAccount: env.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
      windowSec: env.LOGIN_FAILURE_WINDOW_SEC,
      lockoutSec: env.LOGIN_LOCKOUT_SEC,
    }),
    cookieSecure: env.COOKIE_SECURE === "true" || (env.COOKIE_SECURE === "auto" && !!env.PUBLIC_URL?.startsWith("https://")),
  };
  runtimes.set(deps, rt);
  return rt;
}
