import { z } from "@hono/zod-openapi";
import { listFxRates } from "../../../billing/admin.js";
import { parsePositiveMillionths } from "../../../billing/pricing.js";
import { formatMoney } from "../../../core/money.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, body, errorResponse as err, json, SECURITY } from "../../openapi.js";
import { PositiveDecimal } from "../../views/billing.js";

/** Admin: the USD → account-currency rate. */
export function createAdminFxRateRoutes(deps: AppDeps) {
  const app = createRouter();
  const add = routesOf(app, { tag: "Admin billing", security: SECURITY.admin, errors: ADMIN_ERRORS });
  const cur = deps.settings.currency;
  // ---------- FX rates ----------
  const FxRate = z.object({ rate: z.string(), actor: z.string(), reason: z.string().nullable(), created_at: z.string() }).openapi("FxRate");
  add(
    {
      method: "get",
      path: "/admin/fx-rates",
      summary: "USD → account-currency rate in force and its history",
      responses: { 200: json(z.object({ currency: z.string(), rate: z.string(), history: z.array(FxRate) }), "Rates") },
    },
    async (c) => {
      const s = deps.billing;
      await s.ready();
      const rows = await listFxRates(deps.db, cur);
      const current = rows[0]?.rateMicros ?? deps.settings.usdRateMicros;
      return c.json(
        {
          currency: cur,
          rate: formatMoney(current),
          history: rows.map((r) => ({ rate: formatMoney(r.rateMicros), actor: r.actor, reason: r.reason ?? null, created_at: r.createdAt.toISOString() })),
        },
        200,
      );
    },
  );
  add(
    {
      method: "post",
      path: "/admin/fx-rates",
      summary: "Set the USD → account-currency rate (applies to new requests)",
      request: body(z.object({ rate: PositiveDecimal.openapi({ example: "95.5" }), reason: z.string().max(500).optional() }).openapi("SetFxRate")),
      responses: { 201: json(FxRate, "Set"), 400: err("Invalid") },
    },
    async (c) => {
      const b = c.req.valid("json");
      const row = await deps.billingAdmin.setFxRate(cur, parsePositiveMillionths(b.rate, "rate"), b.reason ?? null, c.get("actor"));
      return c.json({ rate: formatMoney(row.rateMicros), actor: row.actor, reason: row.reason ?? null, created_at: row.createdAt.toISOString() }, 201);
    },
  );
  return app;
}
