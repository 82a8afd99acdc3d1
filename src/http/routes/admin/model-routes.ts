import { createRoute, z } from "@hono/zod-openapi";
import { deleteRoute, listRoutes, updateRoute, upsertRoute } from "../../../routing/admin.js";
import type { AppDeps } from "../../deps.js";
import { body, json as ok, SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { adminContext, errors, IdParam, ProviderId, routingOf, TAG } from "./routing-shared.js";

const RouteIn = z
  .object({
    model: z.string().min(1).max(300),
    provider_id: ProviderId,
    upstream_model: z.string().min(1).max(300),
    priority: z.number().int().min(-1000).max(1000).optional(),
    weight: z.number().int().min(0).max(1_000_000).optional(),
    enabled: z.boolean().optional(),
  })
  .openapi("ModelRouteInput");
const RoutePatch = z
  .object({
    priority: z.number().int().min(-1000).max(1000).optional(),
    weight: z.number().int().min(0).max(1_000_000).optional(),
    enabled: z.boolean().optional(),
  })
  .openapi("ModelRoutePatch");
const RouteOut = z
  .object({
    id: z.string(),
    model: z.string(),
    provider_id: z.string(),
    upstream_model: z.string(),
    priority: z.number().int(),
    weight: z.number().int(),
    enabled: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("ModelRoute");
const EffectiveRoute = z
  .object({ provider_id: z.string(), upstream_model: z.string(), priority: z.number().int(), weight: z.number().int(), source: z.enum(["config", "admin"]) })
  .openapi("EffectiveRoute");

/** Model routes: which provider and upstream model serve a model, with priority and weight. */
export function createAdminModelRouteRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.admin;
  const ctx = adminContext.bind(null, deps);
  const routing = () => routingOf(deps);
  const reload = () => routing().reload();
  const routeOut = (r: Awaited<ReturnType<typeof listRoutes>>[number]) => ({
    id: r.id,
    model: r.modelId,
    provider_id: r.providerId,
    upstream_model: r.upstreamModel,
    priority: r.priority,
    weight: r.weight,
    enabled: r.enabled,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/routing/routes",
      tags: TAG,
      summary: "Runtime routes; with `model`, also the effective route list (config merged with runtime rows)",
      security,
      request: { query: z.object({ model: z.string().optional() }) },
      responses: { 200: ok(z.object({ data: z.array(RouteOut), effective: z.array(EffectiveRoute).optional() }), "Routes"), 401: errors[401] },
    }),
    async (c) => {
      const { model } = c.req.valid("query");
      const data = (await listRoutes(deps.db, model)).map(routeOut);
      if (!model) return c.json({ data }, 200);
      const resolved = deps.catalog.resolve(model);
      const rows =
        routing()
          .snapshot()
          .routesByModel.get(resolved?.id ?? model) ?? [];
      const effective = resolved
        ? routing()
            .router.routesOf(resolved)
            .map((r) => ({
              provider_id: r.providerId,
              upstream_model: r.upstreamModel,
              priority: r.priority,
              weight: r.weight,
              source: rows.some((x) => x.providerId === r.providerId && x.upstreamModel === r.upstreamModel) ? ("admin" as const) : ("config" as const),
            }))
        : [];
      return c.json({ data, effective }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/admin/routing/routes",
      tags: TAG,
      summary: "Create a route, or set priority/weight/enabled of an existing one (same model+provider+upstream model; also overrides a config route)",
      security,
      request: body(RouteIn),
      responses: { 200: ok(RouteOut, "Stored"), ...errors },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const modelId = deps.catalog.resolve(b.model)?.id ?? b.model;
      const r = await upsertRoute(ctx(c), {
        modelId,
        providerId: b.provider_id,
        upstreamModel: b.upstream_model,
        priority: b.priority,
        weight: b.weight,
        enabled: b.enabled,
      });
      await reload();
      return c.json(routeOut(r), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/admin/routing/routes/{id}",
      tags: TAG,
      summary: "Change a route's priority, weight or enabled flag",
      security,
      request: { params: IdParam, ...body(RoutePatch) },
      responses: { 200: ok(RouteOut, "Updated"), ...errors },
    }),
    async (c) => {
      const r = await updateRoute(ctx(c), c.req.valid("param").id, c.req.valid("json"));
      await reload();
      return c.json(routeOut(r), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/routing/routes/{id}",
      tags: TAG,
      summary: "Delete a runtime route (a config route it overrode comes back)",
      security,
      request: { params: IdParam },
      responses: { 200: ok(z.object({ deleted: z.boolean() }), "Deleted"), ...errors },
    }),
    async (c) => {
      await deleteRoute(ctx(c), c.req.valid("param").id);
      await reload();
      return c.json({ deleted: true }, 200);
    },
  );

  return app;
}
