import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { writeAudit } from "../../audit/index.js";
import { AppError } from "../../core/errors.js";
import { formatMoney, parseMoney } from "../../core/money.js";
import {
  createProvider,
  createUpstreamAccount,
  deleteProvider,
  deleteRoute,
  deleteUpstreamAccount,
  getUpstreamAccount,
  listProviders,
  listRoutes,
  listUpstreamAccounts,
  updateProvider,
  updateRoute,
  updateUpstreamAccount,
  upsertRoute,
  type AdminContext,
  type UpstreamAccountView,
} from "../../routing/admin.js";
import type { RoutingService } from "../../routing/service.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { adminAuth } from "../middleware/admin-auth.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

/**
 * Admin API of routing: providers, upstream (master) accounts, routes and weights, circuit state.
 * Every write is audited (routing/admin.ts) and reloads this process's routing tables at once;
 * other processes pick changes up within ROUTING_RELOAD_MS. Upstream keys are write-only: every
 * response shows them masked.
 */

const ProviderId = z.string().regex(/^[a-zA-Z0-9_.-]+$/, "letters, digits, _ . - only").max(100);
const Timeouts = z
  .object({
    connect_ms: z.number().int().positive().optional(),
    first_byte_ms: z.number().int().positive().optional(),
    idle_ms: z.number().int().positive().optional(),
    total_ms: z.number().int().positive().optional(),
  })
  .strict();
const Percent = z.number().min(0).max(100).refine((n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-9, "at most 2 decimals");
const UsdAmount = z.string().regex(/^-?\d{1,12}(\.\d{1,6})?$/, "a decimal USD amount such as \"25.50\"");

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

const AccountIn = z
  .object({
    provider_id: ProviderId,
    name: z.string().max(200).optional(),
    api_key: z.string().min(8).max(1000),
    discount_percent: Percent.optional().openapi({ description: "Discount on the upstream list price (seed 002: usually 70)" }),
    balance: UsdAmount.nullable().optional().openapi({ description: "Known upstream balance, USD" }),
    weight: z.number().int().min(0).max(1_000_000).optional(),
    enabled: z.boolean().optional(),
  })
  .openapi("UpstreamAccountInput");
const AccountPatch = AccountIn.omit({ provider_id: true }).partial().openapi("UpstreamAccountPatch");
const AccountOut = z
  .object({
    id: z.string(),
    provider_id: z.string(),
    name: z.string(),
    api_key: z.string().openapi({ description: "Masked; the key itself is never returned", example: "sk-or-v1-…abcd" }),
    discount_percent: z.number(),
    balance: z.string().nullable(),
    balance_checked_at: z.string().nullable(),
    weight: z.number().int(),
    enabled: z.boolean(),
    circuit: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("UpstreamAccount");

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
  .object({ priority: z.number().int().min(-1000).max(1000).optional(), weight: z.number().int().min(0).max(1_000_000).optional(), enabled: z.boolean().optional() })
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

const IdParam = z.object({ id: z.string().min(1).max(200) });
const security = [{ adminToken: [] }];
const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });
const ok = <T extends z.ZodTypeAny>(schema: T, d: string) => ({ content: { "application/json": { schema } }, description: d });
const body = <T extends z.ZodTypeAny>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });
const errors = { 400: err("Invalid request"), 401: err("Admin authentication required"), 404: err("Not found"), 409: err("Conflict") };
const TAG = ["Admin: routing"];

function bpToPercent(bp: number): number {
  return bp / 100;
}
function percentToBp(p: number): number {
  return Math.round(p * 100);
}

export function createAdminRoutingRoutes(deps: AppDeps) {
  const app = createRouter();
  // Seed 002's path lives outside /admin/*, so it brings its own guard.
  app.use("/v1/admin/master-accounts", adminAuth(deps));

  const routing = (): RoutingService => {
    if (!deps.routing) throw new AppError("service_unavailable", "routing is not enabled in this process");
    return deps.routing;
  };
  const ctx = (c: Context<AppEnv>): AdminContext => ({
    db: deps.db,
    box: routing().box,
    actor: c.get("actor"),
    ip: clientIp(c),
    configProviderIds: deps.config.providers.map((p) => p.id),
    addressPolicy: deps.settings.addressPolicy,
  });
  const circuitOf = (providerId: string, accountId: string | null) => {
    const key = accountId ? `ua:${accountId}` : `prv:${providerId}`;
    return routing().breakers.snapshot(key).state;
  };
  const accountOut = (v: UpstreamAccountView) => ({
    id: v.id,
    provider_id: v.providerId,
    name: v.name,
    api_key: v.apiKeyMask,
    discount_percent: bpToPercent(v.discountBp),
    balance: v.balanceMicros === null ? null : formatMoney(v.balanceMicros),
    balance_checked_at: v.balanceCheckedAt?.toISOString() ?? null,
    weight: v.weight,
    enabled: v.enabled,
    circuit: circuitOf(v.providerId, v.id),
    created_at: v.createdAt.toISOString(),
    updated_at: v.updatedAt.toISOString(),
  });
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
  const money = (s: string | null | undefined): bigint | null | undefined => {
    if (s === undefined) return undefined;
    if (s === null) return null;
    return parseMoney(s);
  };
  const reload = () => routing().reload();

  // ---- providers ----
  app.openapi(
    createRoute({ method: "get", path: "/admin/routing/providers", tags: TAG, summary: "Providers (config file and admin-made)", security, responses: { 200: ok(z.object({ data: z.array(ProviderOut) }), "Providers"), 401: errors[401] } }),
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
    createRoute({ method: "post", path: "/admin/routing/providers", tags: TAG, summary: "Add a provider at runtime", security, request: body(ProviderIn), responses: { 201: ok(ProviderOut, "Created"), ...errors } }),
    async (c) => {
      const b = c.req.valid("json");
      const p = await createProvider(ctx(c), { id: b.id, type: b.type, baseUrl: b.base_url ?? null, modelPrefix: b.model_prefix, headers: b.headers, timeouts: b.timeouts, enabled: b.enabled });
      await reload();
      return c.json({ id: p.id, source: "admin" as const, type: p.type, base_url: p.baseUrl, model_prefix: p.modelPrefix, timeouts: p.timeouts, enabled: p.enabled, upstream_accounts: 0 }, 201);
    },
  );
  app.openapi(
    createRoute({ method: "patch", path: "/admin/routing/providers/{id}", tags: TAG, summary: "Change an admin-made provider", security, request: { params: IdParam, ...body(ProviderPatch) }, responses: { 200: ok(ProviderOut, "Updated"), ...errors } }),
    async (c) => {
      const { id } = c.req.valid("param");
      const b = c.req.valid("json");
      const p = await updateProvider(ctx(c), id, { type: b.type, baseUrl: b.base_url, modelPrefix: b.model_prefix, headers: b.headers, timeouts: b.timeouts, enabled: b.enabled });
      await reload();
      const n = (await listUpstreamAccounts(deps.db, id)).length;
      return c.json({ id: p.id, source: "admin" as const, type: p.type, base_url: p.baseUrl, model_prefix: p.modelPrefix, timeouts: p.timeouts, enabled: p.enabled, upstream_accounts: n }, 200);
    },
  );
  app.openapi(
    createRoute({ method: "delete", path: "/admin/routing/providers/{id}", tags: TAG, summary: "Delete an admin-made provider (without accounts or routes)", security, request: { params: IdParam }, responses: { 200: ok(z.object({ deleted: z.boolean() }), "Deleted"), ...errors } }),
    async (c) => {
      await deleteProvider(ctx(c), c.req.valid("param").id);
      await reload();
      return c.json({ deleted: true }, 200);
    },
  );

  // ---- upstream accounts ----
  const listAccounts = async (providerId?: string) => ({ data: (await listUpstreamAccounts(deps.db, providerId)).map(accountOut) });
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/routing/upstream-accounts",
      tags: TAG,
      summary: "Upstream (master) accounts, keys masked",
      security,
      request: { query: z.object({ provider_id: z.string().optional() }) },
      responses: { 200: ok(z.object({ data: z.array(AccountOut) }), "Accounts"), 401: errors[401] },
    }),
    async (c) => c.json(await listAccounts(c.req.valid("query").provider_id), 200),
  );
  // OpenRouter-style alias: GET /v1/admin/master-accounts.
  app.openapi(
    createRoute({ method: "get", path: "/v1/admin/master-accounts", tags: TAG, summary: "Master accounts (alias of /admin/routing/upstream-accounts)", security, responses: { 200: ok(z.object({ data: z.array(AccountOut) }), "Accounts"), 401: errors[401] } }),
    async (c) => c.json(await listAccounts(), 200),
  );
  app.openapi(
    createRoute({ method: "post", path: "/admin/routing/upstream-accounts", tags: TAG, summary: "Add an upstream account (key encrypted at rest, never shown again)", security, request: body(AccountIn), responses: { 201: ok(AccountOut, "Created"), ...errors, 503: err("ENCRYPTION_KEY not set") } }),
    async (c) => {
      const b = c.req.valid("json");
      const v = await createUpstreamAccount(ctx(c), {
        providerId: b.provider_id,
        name: b.name,
        apiKey: b.api_key,
        discountBp: b.discount_percent !== undefined ? percentToBp(b.discount_percent) : undefined,
        balanceMicros: money(b.balance),
        weight: b.weight,
        enabled: b.enabled,
      });
      await reload();
      return c.json(accountOut(v), 201);
    },
  );
  app.openapi(
    createRoute({ method: "get", path: "/admin/routing/upstream-accounts/{id}", tags: TAG, summary: "One upstream account", security, request: { params: IdParam }, responses: { 200: ok(AccountOut, "Account"), ...errors } }),
    async (c) => c.json(accountOut(await getUpstreamAccount(deps.db, c.req.valid("param").id)), 200),
  );
  app.openapi(
    createRoute({ method: "patch", path: "/admin/routing/upstream-accounts/{id}", tags: TAG, summary: "Change an upstream account (api_key rotates the key)", security, request: { params: IdParam, ...body(AccountPatch) }, responses: { 200: ok(AccountOut, "Updated"), ...errors } }),
    async (c) => {
      const b = c.req.valid("json");
      const v = await updateUpstreamAccount(ctx(c), c.req.valid("param").id, {
        name: b.name,
        apiKey: b.api_key,
        discountBp: b.discount_percent !== undefined ? percentToBp(b.discount_percent) : undefined,
        balanceMicros: money(b.balance),
        weight: b.weight,
        enabled: b.enabled,
      });
      await reload();
      return c.json(accountOut(v), 200);
    },
  );
  app.openapi(
    createRoute({ method: "delete", path: "/admin/routing/upstream-accounts/{id}", tags: TAG, summary: "Delete an upstream account", security, request: { params: IdParam }, responses: { 200: ok(z.object({ deleted: z.boolean() }), "Deleted"), ...errors } }),
    async (c) => {
      await deleteUpstreamAccount(ctx(c), c.req.valid("param").id);
      await reload();
      return c.json({ deleted: true }, 200);
    },
  );

  // ---- routes ----
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
      const rows = routing().snapshot().routesByModel.get(resolved?.id ?? model) ?? [];
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
    createRoute({ method: "put", path: "/admin/routing/routes", tags: TAG, summary: "Create a route, or set priority/weight/enabled of an existing one (same model+provider+upstream model; also overrides a config route)", security, request: body(RouteIn), responses: { 200: ok(RouteOut, "Stored"), ...errors } }),
    async (c) => {
      const b = c.req.valid("json");
      const modelId = deps.catalog.resolve(b.model)?.id ?? b.model;
      const r = await upsertRoute(ctx(c), { modelId, providerId: b.provider_id, upstreamModel: b.upstream_model, priority: b.priority, weight: b.weight, enabled: b.enabled });
      await reload();
      return c.json(routeOut(r), 200);
    },
  );
  app.openapi(
    createRoute({ method: "patch", path: "/admin/routing/routes/{id}", tags: TAG, summary: "Change a route's priority, weight or enabled flag", security, request: { params: IdParam, ...body(RoutePatch) }, responses: { 200: ok(RouteOut, "Updated"), ...errors } }),
    async (c) => {
      const r = await updateRoute(ctx(c), c.req.valid("param").id, c.req.valid("json"));
      await reload();
      return c.json(routeOut(r), 200);
    },
  );
  app.openapi(
    createRoute({ method: "delete", path: "/admin/routing/routes/{id}", tags: TAG, summary: "Delete a runtime route (a config route it overrode comes back)", security, request: { params: IdParam }, responses: { 200: ok(z.object({ deleted: z.boolean() }), "Deleted"), ...errors } }),
    async (c) => {
      await deleteRoute(ctx(c), c.req.valid("param").id);
      await reload();
      return c.json({ deleted: true }, 200);
    },
  );

  // ---- circuits ----
  app.openapi(
    createRoute({ method: "get", path: "/admin/routing/circuits", tags: TAG, summary: "Circuit-breaker state per upstream account / provider", security, responses: { 200: ok(z.object({ data: z.array(Circuit) }), "Circuits"), 401: errors[401] } }),
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
      return c.json(view ?? { key, provider_id: null, upstream_account_id: null, state: "closed" as const, requests: 0, failures: 0, failure_rate: 0, opened_at: null, retry_at: null, source: "local" as const }, 200);
    },
  );
  return app;
}
