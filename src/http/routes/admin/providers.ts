import { createRoute, z } from "@hono/zod-openapi";
import { createProvider, deleteProvider, listProviders, listUpstreamAccounts, updateProvider } from "../../../routing/admin.js";
import type { AppDeps } from "../../deps.js";
import { body, json as ok, SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { adminContext, errors, IdParam, ProviderId, routingOf, TAG } from "./routing-shared.js";

const Timeouts = z
  .object({
    connect_ms: z.number().int().positive().optional(),
    first_byte_ms: z.number().int().positive().optional(),
    idle_ms: z.number().int().positive().optional(),
    total_ms: z.number().int().positive().optional(),
  })
  .strict();

const ProviderIn = z
  .object({
    id: ProviderId,
    type: z.enum(["openrouter", "openai", "litellm", "mock", "anthropic", "gemini"]),
    base_url: z.url().nullable().optional(),
    model_prefix: z.string().max(200).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeouts: Timeouts.optional(),
    enabled: z.boolean().optional(),
  })
  .openapi("RoutingProviderInput");
const ProviderPatch = ProviderIn.omit({ id: true }).partial().openapi("RoutingProviderPatch");
const ProviderOut = z
  .object({
    id: z.string(),
    source: z.enum(["config", "admin"]),
    type: z.string(),
    base_url: z.string().nullable(),
    model_prefix: z.string(),
    timeouts: z.record(z.string(), z.number()),
    enabled: z.boolean(),
    upstream_accounts: z.number().int(),
  })
  .openapi("RoutingProvider");

/** Providers: the config file's (read-only here) and admin-made ones, added and changed at runtime. */
export function createAdminProviderRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.admin;
  const ctx = adminContext.bind(null, deps);
  const reload = () => routingOf(deps).reload();

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/routing/providers",
      tags: TAG,
      summary: "Providers (config file and admin-made)",
      security,
      responses: { 200: ok(z.object({ data: z.array(ProviderOut) }), "Providers"), 401: errors[401] },
    }),
    async (c) => {
      const admin = await listProviders(deps.db);
      const accounts = await listUpstreamAccounts(deps.db);
      const count = (id: string) => accounts.filter((a) => a.providerId === id).length;
      const data = [
        ...deps.config.providers.map((p) => ({
          id: p.id,
          source: "config" as const,
          type: p.type,
          base_url: p.base_url ?? null,
          model_prefix: p.model_prefix,
          timeouts: (p.timeouts ?? {}) as Record<string, number>,
          enabled: p.enabled,
          upstream_accounts: count(p.id),
        })),
        ...admin.map((p) => ({
          id: p.id,
          source: "admin" as const,
          type: p.type,
          base_url: p.baseUrl,
          model_prefix: p.modelPrefix,
          timeouts: p.timeouts,
          enabled: p.enabled,
          upstream_accounts: count(p.id),
        })),
      ];
      return c.json({ data }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/routing/providers",
      tags: TAG,
      summary: "Add a provider at runtime",
      security,
      request: body(ProviderIn),
      responses: { 201: ok(ProviderOut, "Created"), ...errors },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const p = await createProvider(ctx(c), {
        id: b.id,
        type: b.type,
        baseUrl: b.base_url ?? null,
        modelPrefix: b.model_prefix,
        headers: b.headers,
        timeouts: b.timeouts,
        enabled: b.enabled,
      });
      await reload();
      return c.json(
        {
          id: p.id,
          source: "admin" as const,
          type: p.type,
          base_url: p.baseUrl,
          model_prefix: p.modelPrefix,
          timeouts: p.timeouts,
          enabled: p.enabled,
          upstream_accounts: 0,
        },
        201,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/admin/routing/providers/{id}",
      tags: TAG,
      summary: "Change an admin-made provider",
      security,
      request: { params: IdParam, ...body(ProviderPatch) },
      responses: { 200: ok(ProviderOut, "Updated"), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const b = c.req.valid("json");
      const p = await updateProvider(ctx(c), id, {
        type: b.type,
        baseUrl: b.base_url,
        modelPrefix: b.model_prefix,
        headers: b.headers,
        timeouts: b.timeouts,
        enabled: b.enabled,
      });
      await reload();
      const n = (await listUpstreamAccounts(deps.db, id)).length;
      return c.json(
        {
          id: p.id,
          source: "admin" as const,
          type: p.type,
          base_url: p.baseUrl,
          model_prefix: p.modelPrefix,
          timeouts: p.timeouts,
          enabled: p.enabled,
          upstream_accounts: n,
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/routing/providers/{id}",
      tags: TAG,
      summary: "Delete an admin-made provider (without accounts or routes)",
      security,
      request: { params: IdParam },
      responses: { 200: ok(z.object({ deleted: z.boolean() }), "Deleted"), ...errors },
    }),
    async (c) => {
      await deleteProvider(ctx(c), c.req.valid("param").id);
      await reload();
      return c.json({ deleted: true }, 200);
    },
  );

  // ---- upstream accounts ----
  return app;
}
