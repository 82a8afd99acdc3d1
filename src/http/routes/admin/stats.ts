import { z } from "@hono/zod-openapi";
import { platformByModel, platformDaily, platformSummary } from "../../../billing/reports.js";
import { AppError } from "../../../core/errors.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, json, SECURITY } from "../../openapi.js";
import { Stats, statsJson } from "../../views/billing.js";

/** Admin: platform revenue, upstream cost and profit. */
export function createAdminStatsRoutes(deps: AppDeps) {
  const app = createRouter();
  const cur = deps.settings.currency;
  const add = routesOf(app, { tag: "Admin billing", security: SECURITY.admin, errors: ADMIN_ERRORS });
  // ---------- statistics ----------
  const Range = z.object({
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ param: { name: "from", in: "query" } }),
    to: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ param: { name: "to", in: "query" } }),
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(366)
      .default(30)
      .openapi({ param: { name: "days", in: "query" }, description: "used when from is absent" }),
    account_id: z
      .string()
      .max(100)
      .optional()
      .openapi({ param: { name: "account_id", in: "query" } }),
  });
  const period = (q: z.infer<typeof Range>) => {
    const to = q.to ? new Date(q.to) : new Date(deps.clock.now() + 1000);
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - q.days * 86_400_000);
    if (from >= to) throw new AppError("invalid_request", "`from` must be before `to`", { param: "from" });
    return { from, to };
  };
  add(
    {
      method: "get",
      path: "/admin/stats/summary",
      summary: "Platform totals: revenue, upstream cost, profit, tokens, requests",
      request: { query: Range },
      responses: { 200: json(Stats.extend({ currency: z.string(), from: z.string(), to: z.string() }), "Totals") },
    },
    async (c) => {
      const q = c.req.valid("query");
      const p = period(q);
      const f = await platformSummary(deps.db, p, deps.settings.billingTimezone, q.account_id);
      return c.json({ currency: cur, from: p.from.toISOString(), to: p.to.toISOString(), ...statsJson(f) }, 200);
    },
  );
  add(
    {
      method: "get",
      path: "/admin/stats/daily",
      summary: "Platform totals per day",
      request: { query: Range },
      responses: { 200: json(z.object({ currency: z.string(), data: z.array(Stats.extend({ date: z.string() })) }), "Per day") },
    },
    async (c) => {
      const q = c.req.valid("query");
      const rows = await platformDaily(deps.db, period(q), deps.settings.billingTimezone, q.account_id);
      return c.json({ currency: cur, data: rows.map((r) => ({ date: r.date, ...statsJson(r) })) }, 200);
    },
  );
  add(
    {
      method: "get",
      path: "/admin/stats/models",
      summary: "Platform totals per model",
      request: { query: Range },
      responses: { 200: json(z.object({ currency: z.string(), data: z.array(Stats.extend({ model: z.string() })) }), "Per model") },
    },
    async (c) => {
      const q = c.req.valid("query");
      const rows = await platformByModel(deps.db, period(q), deps.settings.billingTimezone, q.account_id);
      return c.json({ currency: cur, data: rows.map((r) => ({ model: r.model, ...statsJson(r) })) }, 200);
    },
  );
  return app;
}
