import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../../../core/errors.js";
import type { AdminContext } from "../../../routing/admin.js";
import type { RoutingService } from "../../../routing/service.js";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { errorResponse } from "../../openapi.js";

/**
 * Shared pieces of the routing admin API (providers, upstream accounts, routes, circuits). Every
 * write is audited (routing/admin.ts) and reloads this process's routing tables at once; other
 * processes pick changes up within ROUTING_RELOAD_MS.
 */

export const ProviderId = z
  .string()
  .regex(/^[a-zA-Z0-9_.-]+$/, "letters, digits, _ . - only")
  .max(100);
export const IdParam = z.object({ id: z.string().min(1).max(200) });
export const TAG = ["Admin: routing"];
export const errors = {
  400: errorResponse("Invalid request"),
  401: errorResponse("Admin authentication required"),
  404: errorResponse("Not found"),
  409: errorResponse("Conflict"),
};

/** The routing service, or a 503 in a process that runs without routing. */
export function routingOf(deps: AppDeps): RoutingService {
  if (!deps.routing) throw new AppError("service_unavailable", "routing is not enabled in this process");
  return deps.routing;
}

/** What a routing write needs: the database, the key box, who acts, and the address policy for base URLs. */
export function adminContext(deps: AppDeps, c: Context<AppEnv>): AdminContext {
  return {
    db: deps.db,
    box: routingOf(deps).box,
    actor: c.get("actor"),
    ip: clientIp(c),
    configProviderIds: deps.config.providers.map((p) => p.id),
    addressPolicy: deps.settings.addressPolicy,
  };
}
