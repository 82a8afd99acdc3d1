import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { listClients, platformStats } from "../../../accounts/admin-stats.js";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { json, page, PageQuery } from "../accounts-schemas.js";

import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, SECURITY } from "../../openapi.js";
import { DateQ, date } from "../../views/accounts.js";

/** Admin: platform totals and the client list (`/v1/admin/*`, OpenRouter-style admin paths). */
export function createAdminPlatformRoutes(deps: AppDeps) {
  const app = createRouter();
  const add = routesOf(app, { tag: "Admin: platform", security: SECURITY.admin, errors: ADMIN_ERRORS });
  const cur = deps.settings.currency;
  const _who = (c: Context<AppEnv>) => ({ actor: c.get("actor"), ip: clientIp(c) });

  add(
    {
      method: "get",
      path: "/v1/admin/stats",
      summary: "Platform totals: accounts, users, keys, balances, requests, revenue, cost, profit",
      request: { query: z.object({ from: DateQ, to: DateQ }) },
      responses: { 200: json(z.record(z.string(), z.unknown()).openapi("PlatformStats"), "Stats") },
    },
    async (c) => {
      const q = c.req.valid("query");
      return c.json(await platformStats(deps.db, cur, { from: date(q.from), to: date(q.to) }), 200);
    },
  );

  add(
    {
      method: "get",
      path: "/v1/admin/clients",
      summary: "Users with their account balance and lifetime usage",
      request: { query: z.object({ ...PageQuery, q: z.string().max(200).optional(), status: z.enum(["active", "blocked"]).optional() }) },
      responses: { 200: json(page(z.record(z.string(), z.unknown()), "ClientPage"), "Clients") },
    },
    async (c) => c.json(await listClients(deps.db, cur, c.req.valid("query")), 200),
  );
  return app;
}
