import { createRoute, z } from "@hono/zod-openapi";
import { formatMoney, parseMoney } from "../../../core/money.js";
import {
  createUpstreamAccount,
  deleteUpstreamAccount,
  getUpstreamAccount,
  listUpstreamAccounts,
  updateUpstreamAccount,
  type UpstreamAccountView,
} from "../../../routing/admin.js";
import type { AppDeps } from "../../deps.js";
import { adminAuth } from "../../middleware/admin-auth.js";
import { body, errorResponse as err, json as ok, SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { adminContext, errors, IdParam, ProviderId, routingOf, TAG } from "./routing-shared.js";

const Percent = z
  .number()
  .min(0)
  .max(100)
  .refine((n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-9, "at most 2 decimals");
const UsdAmount = z.string().regex(/^-?\d{1,12}(\.\d{1,6})?$/, 'a decimal USD amount such as "25.50"');

const AccountIn = z
  .object({
    provider_id: ProviderId,
    name: z.string().max(200).optional(),
    api_key: z.string().min(8).max(1000),
    discount_percent: Percent.optional().openapi({ description: "Discount on the upstream list price (resellers typically buy at 70 % off)" }),
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

function bpToPercent(bp: number): number {
  return bp / 100;
}
function percentToBp(p: number): number {
  return Math.round(p * 100);
}

/** Upstream (master) accounts of the providers. Their keys are write-only: every response shows them masked. */
export function createAdminUpstreamAccountRoutes(deps: AppDeps) {
  const app = createRouter();
  // The OpenRouter-style alias lives outside /admin/*, so it brings its own guard.
  app.use("/v1/admin/master-accounts", adminAuth(deps));
  const security = SECURITY.admin;
  const ctx = adminContext.bind(null, deps);
  const reload = () => routingOf(deps).reload();
  const circuitOf = (providerId: string, accountId: string | null) => {
    const key = accountId ? `ua:${accountId}` : `prv:${providerId}`;
    return routingOf(deps).breakers.snapshot(key).state;
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
  const money = (s: string | null | undefined): bigint | null | undefined => {
    if (s === undefined) return undefined;
    if (s === null) return null;
    return parseMoney(s);
  };
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
    createRoute({
      method: "get",
      path: "/v1/admin/master-accounts",
      tags: TAG,
      summary: "Master accounts (alias of /admin/routing/upstream-accounts)",
      security,
      responses: { 200: ok(z.object({ data: z.array(AccountOut) }), "Accounts"), 401: errors[401] },
    }),
    async (c) => c.json(await listAccounts(), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/routing/upstream-accounts",
      tags: TAG,
      summary: "Add an upstream account (key encrypted at rest, never shown again)",
      security,
      request: body(AccountIn),
      responses: { 201: ok(AccountOut, "Created"), ...errors, 503: err("ENCRYPTION_KEY not set") },
    }),
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
    createRoute({
      method: "get",
      path: "/admin/routing/upstream-accounts/{id}",
      tags: TAG,
      summary: "One upstream account",
      security,
      request: { params: IdParam },
      responses: { 200: ok(AccountOut, "Account"), ...errors },
    }),
    async (c) => c.json(accountOut(await getUpstreamAccount(deps.db, c.req.valid("param").id)), 200),
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/admin/routing/upstream-accounts/{id}",
      tags: TAG,
      summary: "Change an upstream account (api_key rotates the key)",
      security,
      request: { params: IdParam, ...body(AccountPatch) },
      responses: { 200: ok(AccountOut, "Updated"), ...errors },
    }),
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
    createRoute({
      method: "delete",
      path: "/admin/routing/upstream-accounts/{id}",
      tags: TAG,
      summary: "Delete an upstream account",
      security,
      request: { params: IdParam },
      responses: { 200: ok(z.object({ deleted: z.boolean() }), "Deleted"), ...errors },
    }),
    async (c) => {
      await deleteUpstreamAccount(ctx(c), c.req.valid("param").id);
      await reload();
      return c.json({ deleted: true }, 200);
    },
  );

  return app;
}
