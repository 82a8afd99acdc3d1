import { z } from "@hono/zod-openapi";
import { getTariff, listTariffs } from "../../../billing/admin.js";
import { AppError } from "../../../core/errors.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, body, errorResponse as err, IdParam, json, SECURITY } from "../../openapi.js";
import { CreateTariff, PatchTariff, Tariff, tariffJson, tariffInput } from "../../views/billing.js";

/** Admin: tariffs (markup, allowed models, limits, rate limits). */
export function createAdminTariffRoutes(deps: AppDeps) {
  const app = createRouter();
  const add = routesOf(app, { tag: "Admin billing", security: SECURITY.admin, errors: ADMIN_ERRORS });
  // ---------- tariffs ----------
  add(
    { method: "get", path: "/admin/tariffs", summary: "List tariffs", responses: { 200: json(z.object({ data: z.array(Tariff) }), "Tariffs") } },
    async (c) => {
      await deps.billing.ready();
      return c.json({ data: (await listTariffs(deps.db)).map(tariffJson) }, 200);
    },
  );
  add(
    {
      method: "post",
      path: "/admin/tariffs",
      summary: "Create a tariff",
      request: body(CreateTariff),
      responses: { 201: json(Tariff, "Created"), 400: err("Invalid"), 409: err("Name taken") },
    },
    async (c) => {
      const b = c.req.valid("json");
      const input = tariffInput(b);
      const row = await deps.billingAdmin.createTariff(
        { ...input, name: b.name, markupPpm: input.markupPpm ?? deps.settings.defaultMarkupPpm },
        c.get("actor"),
      );
      return c.json(tariffJson(row), 201);
    },
  );
  add(
    {
      method: "get",
      path: "/admin/tariffs/{id}",
      summary: "One tariff",
      request: { params: IdParam },
      responses: { 200: json(Tariff, "Tariff"), 404: err("Not found") },
    },
    async (c) => {
      const t = await getTariff(deps.db, c.req.valid("param").id);
      if (!t) throw new AppError("not_found", "No such tariff");
      return c.json(tariffJson(t), 200);
    },
  );
  add(
    {
      method: "patch",
      path: "/admin/tariffs/{id}",
      summary: "Change a tariff (fields given are replaced)",
      request: { params: IdParam, ...body(PatchTariff) },
      responses: { 200: json(Tariff, "Updated"), 400: err("Invalid"), 404: err("Not found"), 409: err("Conflict") },
    },
    async (c) => {
      const b = c.req.valid("json");
      const row = await deps.billingAdmin.updateTariff(c.req.valid("param").id, tariffInput(b), c.get("actor"));
      // Keys carry their tariff's rate limits in the cached AuthContext.
      return c.json(tariffJson(row), 200);
    },
  );
  add(
    {
      method: "delete",
      path: "/admin/tariffs/{id}",
      summary: "Delete an unused tariff",
      request: { params: IdParam },
      responses: { 200: json(z.object({ id: z.string(), deleted: z.literal(true) }), "Deleted"), 404: err("Not found"), 409: err("In use or default") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      await deps.billingAdmin.deleteTariff(id, c.get("actor"));
      return c.json({ id, deleted: true as const }, 200);
    },
  );
  return app;
}
