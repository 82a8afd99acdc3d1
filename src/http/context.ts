import type { Logger } from "../core/logger.js";
import type { AuthContext } from "../contracts/request.js";

/** Hono environment of every route: per-request variables set by middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    startedAt: number;
    logger: Logger;
    /** Set by the API-key (or DID) middleware. */
    auth: AuthContext;
    /** Set by the admin middleware: `admin:token` or `admin:<userId>`. */
    actor: string;
    /** Set by handlers whose Response already carries x-request-id (touching c.res.headers costs a Headers build). */
    requestIdSent: boolean;
  };
}
