import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { listAudit, listRequestLogs } from "../../../accounts/admin-logs.js";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { json, page, PageQuery } from "../accounts-schemas.js";

import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, SECURITY } from "../../openapi.js";
import { DateQ, LogSchema, AuditSchema, LogQuery, date } from "../../views/accounts.js";

/** Admin: request logs and the audit log. */
export function createAdminLogRoutes(deps: AppDeps) {
  const app = createRouter();
  const add = routesOf(app, { tag: "Admin: logs", security: SECURITY.admin, errors: ADMIN_ERRORS });
  const _who = (c: Context<AppEnv>) => ({ actor: c.get("actor"), ip: clientIp(c) });
  // ------------------------------------------------------------ logs and audit

  for (const path of ["/admin/logs", "/v1/admin/logs"] as const) {
    add(
      {
        method: "get",
        path,
        summary: "Request logs, newest first, with filters",
        request: { query: LogQuery },
        responses: { 200: json(page(LogSchema, path === "/admin/logs" ? "RequestLogPage" : "V1AdminRequestLogPage"), "Logs") },
      },
      async (c) => {
        // One handler for both paths (a path union loses the query's inferred type).
        const q = c.req.valid("query") as z.infer<typeof LogQuery>;
        return c.json(
          await listRequestLogs(deps.db, {
            accountId: q.account_id,
            keyId: q.key_id,
            model: q.model,
            status: q.status,
            providerId: q.provider_id,
            usageAnomaly: q.usage_anomaly === undefined ? undefined : q.usage_anomaly === "true",
            from: date(q.from),
            to: date(q.to),
            limit: q.limit,
            cursor: q.cursor,
          }),
          200,
        );
      },
    );
  }

  add(
    {
      method: "get",
      path: "/admin/audit-log",
      summary: "Audit log of admin writes: who, what, before/after, when",
      request: {
        query: z.object({
          ...PageQuery,
          actor: z.string().max(200).optional(),
          action: z.string().max(100).optional().openapi({ description: "Exact, or a prefix with `.*` (e.g. `key.*`)" }),
          target_type: z.string().max(50).optional(),
          target_id: z.string().max(100).optional(),
          from: DateQ,
          to: DateQ,
        }),
      },
      responses: { 200: json(page(AuditSchema, "AuditPage"), "Entries") },
    },
    async (c) => {
      const q = c.req.valid("query");
      return c.json(
        await listAudit(deps.db, {
          actor: q.actor,
          action: q.action,
          targetType: q.target_type,
          targetId: q.target_id,
          from: date(q.from),
          to: date(q.to),
          limit: q.limit,
          cursor: q.cursor,
        }),
        200,
      );
    },
  );
  return app;
}
