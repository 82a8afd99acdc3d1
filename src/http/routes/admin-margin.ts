import { z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { formatMoney } from "../../core/money.js";
import { defineRoutes, route } from "../define-routes.js";
import type { AppDeps } from "../deps.js";
import { ADMIN_ERRORS, json, SECURITY } from "../openapi.js";
import { createRouter } from "../router.js";

const MarginRow = z
  .object({
    id: z.string(),
    created_at: z.string(),
    account_id: z.string(),
    model: z.string().nullable(),
    provider_id: z.string().nullable(),
    price: z.string(),
    upstream_cost: z.string(),
    profit: z.string(),
    margin: z.string().nullable().openapi({ description: "What the margin guard did: charged_reported | kept_list (null: no reported cost above list)" }),
  })
  .openapi("NegativeMarginRequest");

const Alert = z.object({ kind: z.string(), subject: z.string(), text: z.string(), at: z.string(), delivered: z.array(z.string()) }).openapi("OperatorAlert");

type Row = Record<string, unknown>;

/** The admin's view of money lost per request and of the alerts sent. */
export function createAdminMarginRoutes(deps: AppDeps) {
  const app = createRouter();
  defineRoutes(app, { tag: "Admin billing", security: SECURITY.admin, errors: ADMIN_ERRORS }, [
    route(
      {
        method: "get",
        path: "/admin/margin",
        summary: "Requests charged less than their upstream cost (negative margin), newest first",
        request: {
          query: z.object({
            days: z.coerce.number().int().min(1).max(366).default(7).openapi({ param: { name: "days", in: "query" } }),
            limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ param: { name: "limit", in: "query" } }),
          }),
        },
        responses: { 200: json(z.object({ currency: z.string(), data: z.array(MarginRow), total_loss: z.string() }).openapi("NegativeMarginList"), "Negative-margin requests") },
      },
      async (c) => {
        const q = c.req.valid("query");
        const since = new Date(deps.clock.now() - q.days * 86_400_000).toISOString();
        const res = await deps.db.execute(sql`select id, created_at, account_id, coalesce(served_model, requested_model) as model, provider_id,
            price_micros::text as price, upstream_cost_micros::text as cost, profit_micros::text as profit, meta->>'margin' as margin
          from request_logs where profit_micros < 0 and created_at >= ${since}::timestamptz order by created_at desc limit ${q.limit}`);
        const rows = (Array.isArray(res) ? res : (res as { rows: Row[] }).rows) as Row[];
        let loss = 0n;
        const data = rows.map((r) => {
          loss -= BigInt(String(r.profit));
          return {
            id: String(r.id),
            created_at: new Date(r.created_at as string).toISOString(),
            account_id: String(r.account_id),
            model: (r.model as string | null) ?? null,
            provider_id: (r.provider_id as string | null) ?? null,
            price: formatMoney(BigInt(String(r.price ?? 0))),
            upstream_cost: formatMoney(BigInt(String(r.cost ?? 0))),
            profit: formatMoney(BigInt(String(r.profit))),
            margin: (r.margin as string | null) ?? null,
          };
        });
        return c.json({ currency: deps.settings.currency, data, total_loss: formatMoney(loss) }, 200);
      },
    ),
    route(
      {
        method: "get",
        path: "/admin/alerts",
        summary: "The operator alerts this process raised (newest last; the last 200)",
        responses: { 200: json(z.object({ channels: z.boolean(), data: z.array(Alert) }).openapi("OperatorAlerts"), "Alerts") },
      },
      (c) => c.json({ channels: deps.operator.alerts.enabled, data: [...deps.operator.alerts.recent()] }, 200),
    ),
  ]);
  return app;
}
