import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { logView } from "../../../accounts/admin-logs.js";
import { AppError } from "../../../core/errors.js";
import { accounts, requestLogs } from "../../../db/schema/index.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { errorResponse as err, json, SECURITY } from "../../openapi.js";

const _TAG = ["Admin: console"];

/** One request-log row with its account's name and the row's meta. */
export function createAdminLogEntryRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.admin;
  const cur = deps.settings.currency;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/logs/{id}",
      tags: ["Admin: logs"],
      summary: "One request-log row with its account and routing details (tries, skipped upstreams)",
      security,
      request: { params: z.object({ id: z.string().min(1).max(100) }) },
      responses: { 200: json(z.record(z.string(), z.unknown()).openapi("RequestLogDetail"), "The request"), 404: err("Not found") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const rows = await deps.db
        .select({ log: requestLogs, accountName: accounts.name })
        .from(requestLogs)
        .leftJoin(accounts, eq(accounts.id, requestLogs.accountId))
        .where(eq(requestLogs.id, id))
        .limit(1);
      const r = rows[0];
      if (!r) throw new AppError("not_found", `No request ${id}`);
      return c.json({ ...logView(r.log), account_name: r.accountName ?? null, meta: r.log.meta ?? null, currency: cur }, 200);
    },
  );
  return app;
}
