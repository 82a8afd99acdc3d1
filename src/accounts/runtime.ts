import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { LoginThrottle } from "./login-throttle.js";
import { pruneAuthState } from "./replay.js";
import { resolveJwtSecret } from "./secrets.js";
import type { TokenSettings } from "./sessions.js";

/** What the accounts module reads from settings (mapped from the environment in main/settings.ts). */
export interface AuthSettings {
  /** JWT_SECRET; null: a secret is generated once and kept in the database. */
  jwtSecret: string | null;
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  cookieSecure: boolean;
  login: { maxFailuresPerAccount: number; maxFailuresPerIp: number; windowSec: number; lockoutSec: number };
}

/**
 * Per-gateway state of the accounts module: the signing secret (resolved once, lazily, from
 * JWT_SECRET or the database) and the login throttle. Built once by main/services.ts.
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

export interface AuthRuntimeDeps {
  db: Db;
  settings: AuthSettings;
  clock: Clock;
  logger?: Logger;
}

const PRUNE_EVERY_MS = 10 * 60_000;

export function createAuthRuntime(deps: AuthRuntimeDeps): AuthRuntime {
  const { settings: cfg } = deps;
  let tokens: Promise<TokenSettings> | null = null;
  let lastPrune = deps.clock.now();
  let pruning = false;
  return {
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
      tokens ??= resolveJwtSecret(deps.db, cfg.jwtSecret ?? undefined).then(
        (s) => ({ secret: s.secret, accessTtlSec: cfg.accessTokenTtlSec, refreshTtlSec: cfg.refreshTokenTtlSec }),
        (e: unknown) => {
          tokens = null; // a database hiccup at first use must not poison every later request
          throw e;
        },
      );
      return tokens;
    },
    throttle: new LoginThrottle({ clock: deps.clock, ...cfg.login }),
    cookieSecure: cfg.cookieSecure,
  };
}
