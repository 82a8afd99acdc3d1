import { timingSafeEqual, createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../core/errors.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { adminSessionAuthenticator } from "./session-auth.js";

/** Extra admin authenticators (e.g. an admin user's session); each returns the actor or null. */
export type AdminAuthenticator = (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => Promise<string | null>;

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time) → `c.var.actor = "admin:token"`. */
/** Besides the token, an admin user's session (Bearer JWT or cookie + CSRF) passes as `admin:<userId>`. */
export function adminAuth(deps: AppDeps, alternatives: AdminAuthenticator[] = [adminSessionAuthenticator(deps)]): MiddlewareHandler<AppEnv> {
  const expected = digest(deps.adminToken);
  return async (c, next) => {
    const header = c.req.header("authorization");
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (m?.[1] && timingSafeEqual(digest(m[1]), expected)) {
      c.set("actor", "admin:token");
      return next();
    }
    for (const alt of alternatives) {
      const actor = await alt(c);
      if (actor) {
        c.set("actor", actor);
        return next();
      }
    }
    if (!header) throw new AppError("missing_api_key", "Admin authentication required: send `Authorization: Bearer <ADMIN_TOKEN>`");
    throw new AppError("invalid_api_key", "Invalid admin credentials");
  };
}
