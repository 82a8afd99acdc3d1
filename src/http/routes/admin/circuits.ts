import { createRoute, z } from "@hono/zod-openapi";
import { writeAudit } from "../../../audit/index.js";
import type { AppDeps } from "../../deps.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { body, json as ok, SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { errors, routingOf, TAG } from "./routing-shared.js";

const Circuit = z
  .object({
    key: z.string(),
    provider_id: z.string().nullable(),
    upstream_account_id: z.string().nullable(),
    state: z.enum(["closed", "open", "half_open"]),
    requests: z.number().int(),
    failures: z.number().int(),
    failure_rate: z.number(),
    opened_at: z.string().nullable(),
    retry_at: z.string().nullable(),
    source: z.enum(["local", "redis"]),
  })
  .openapi("Circuit");

/** Circuit-breaker state per upstream account and provider, and closing a circuit by hand. */
export function createAdminCircuitRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.admin;
  const routing = () => routingOf(deps);

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/routing/circuits",
      tags: TAG,
      summary: "Circuit-breaker state per upstream account / provider",
      security,
      responses: { 200: ok(z.object({ data: z.array(Circuit) }), "Circuits"), 401: errors[401] },
    }),
    (c) => c.json({ data: routing().circuits() }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/routing/circuits/reset",
      tags: TAG,
      summary: "Close a circuit now (e.g. after fixing an upstream account)",
      security,
      request: body(z.object({ key: z.string().regex(/^(ua|prv):.+$/, "ua:<upstream account id> or prv:<provider id>") })),
      responses: { 200: ok(Circuit, "The circuit"), ...errors },
    }),
    async (c) => {
      const { key } = c.req.valid("json");
      await routing().breakers.reset(key);
      await writeAudit(deps.db, { actor: c.get("actor"), action: "routing.circuit.reset", targetType: "circuit", targetId: key, ip: clientIp(c) });
      const view = routing()
        .circuits()
        .find((x) => x.key === key);
      return c.json(
        view ?? {
          key,
          provider_id: null,
          upstream_account_id: null,
          state: "closed" as const,
          requests: 0,
          failures: 0,
          failure_rate: 0,
          opened_at: null,
          retry_at: null,
          source: "local" as const,
        },
        200,
      );
    },
  );
  return app;
}
