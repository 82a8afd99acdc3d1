import type { Env } from "../config/env.js";
import type { Clock } from "../core/clock.js";
import type { Db } from "../db/client.js";
import { LoginThrottle } from "./login-throttle.js";
import { resolveJwtSecret } from "./secrets.js";
import type { TokenSettings } from "./sessions.js";

/**
 * Per-gateway state of the accounts module: the signing secret (resolved once, lazily, from
 * JWT_SECRET or the database) and the login throttle. Keyed by the gateway's deps object so every
 * router and middleware of one gateway shares it, and two gateways in one process (tests) don't.
 */
export interface AuthRuntime {
  tokens(): Promise<TokenSettings>;
  throttle: LoginThrottle;
  cookieSecure: boolean;
}

export interface RuntimeDeps {
  db: Db;
  env: Env;
  clock: Clock;
}

const runtimes = new WeakMap<object, AuthRuntime>();

export function authRuntime(deps: RuntimeDeps): AuthRuntime {
  let rt = runtimes.get(deps);
  if (rt) return rt;
  const { env } = deps;
  let settings: Promise<TokenSettings> | null = null;
  rt = {
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
