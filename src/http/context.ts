import type { Logger } from "../core/logger.js";
import type { AuthContext } from "../contracts/request.js";

/**
 * Who is calling a dashboard/management route. Sessions come from the login endpoints (a Bearer
 * JWT, or the `lg_at` cookie in the browser); management keys are API keys with the `manage`
 * scope; the ADMIN_TOKEN is an admin without a user.
 */
export interface Principal {
  kind: "session" | "key" | "admin_token";
  userId: string | null;
  /** The caller's own account; null only for the ADMIN_TOKEN. */
  accountId: string | null;
  role: "client" | "admin";
  /** For audit rows: `user:<id>`, `admin:<userId>`, `admin:token`, `key:<id>`. */
  actor: string;
  sessionId: string | null;
  keyId: string | null;
  viaCookie: boolean;
}

/** The one Hono environment of every route and middleware: per-request variables set by middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    startedAt: number;
    logger: Logger;
    /** Set by the API-key (or DID) middleware. */
    auth: AuthContext;
    /** Set by the API-key middleware when it refuses a key that exists (the refusal is logged against its account). */
    refusedKey: { keyId: string; accountId: string };
    /** Set by the admin middleware: `admin:token` or `admin:<userId>`. */
    actor: string;
    /** Set by the session / principal middleware of the dashboard and management routes. */
    principal?: Principal;
    /** Set by handlers whose Response already carries x-request-id (touching c.res.headers costs a Headers build). */
    requestIdSent: boolean;
    /** The client address behind TRUSTED_PROXIES (set only when proxies are configured; read it with clientIp()). */
    clientIp: string | null;
  };
}
