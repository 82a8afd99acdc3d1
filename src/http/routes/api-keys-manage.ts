import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import {
  getKey,
  issueKey,
  keyPatchProblem,
  keyUsageStats,
  keyView,
  listKeys,
  newKeyInput,
  revokeKey,
  rotateKey,
  updateKey,
  type KeyPatch,
  type KeyRow,
  type Scope,
} from "../../accounts/api-keys.js";
import { mergeLimits, PERIODS, QuotaLimitsSchema } from "../../billing/quotas.js";
import { AppError } from "../../core/errors.js";
import { formatMoney } from "../../core/money.js";
import { accounts } from "../../db/schema/index.js";
import type { AppDeps } from "../deps.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { principalAuth, principalOf, type Principal } from "../middleware/session-auth.js";
import { accountsRouter, ApiKeySchema, err, json, KeySettings, NewApiKeySchema, page, PageQuery } from "./accounts-schemas.js";

/**
 * Key management, seed 002's `/v1/auth/api-keys` plus update and rotate. The owner acts through a
 * session or a key with the `manage` scope and only ever sees its own account's keys (another
 * account's key id is a 404); admins (admin session or ADMIN_TOKEN) may act on any key.
 */

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });

const CreateKey = z.object({ ...KeySettings, account_id: z.string().optional().openapi({ description: "Admins only: the account to create the key in" }) }).openapi("CreateApiKeyRequest");
const UpdateKey = z.object({ ...KeySettings, status: z.enum(["active", "disabled"]).optional() }).openapi("UpdateApiKeyRequest");
const Rotate = z
  .object({ grace_seconds: z.number().int().min(0).max(30 * 86400).default(3600).openapi({ description: "How long the old secret keeps working (0 = stops now)" }) })
  .openapi("RotateApiKeyRequest");
const ListQuery = z.object({
  ...PageQuery,
  status: z.enum(["active", "disabled", "revoked"]).optional(),
  q: z.string().max(200).optional(),
  account_id: z.string().max(100).optional().openapi({ description: "Admins only" }),
  include_stats: z.enum(["true", "false"]).optional(),
});

const security = [{ bearerAuth: [] }];

export function isAdmin(p: Principal): boolean {
  return p.role === "admin";
}

/** Admins act everywhere; everyone else inside their own account. */
export function scopeOf(p: Principal, ip: string | null): Scope {
  return { accountId: isAdmin(p) ? null : p.accountId, actor: p.actor, ip };
}

/** Validates a settings body into a KeyPatch; `admin` may set rate limits and options, and loosen limits. */
export function toPatch(body: z.infer<typeof UpdateKey>, admin: boolean, current: KeyRow | null): KeyPatch {
  if (!admin && (body.rate_limits !== undefined || body.options !== undefined)) {
    throw new AppError("forbidden", "Only admins can set rate_limits or options", { param: body.rate_limits !== undefined ? "rate_limits" : "options" });
  }
  const patch: KeyPatch = {
    name: body.name,
    status: body.status,
    scopes: body.scopes,
    allowedModels: body.allowed_models,
    ipAllowlist: body.ip_allowlist,
    limits: body.limits,
    rateLimits: body.rate_limits,
    options: body.options,
    expiresAt: body.expires_at === undefined ? undefined : body.expires_at === null ? null : new Date(body.expires_at),
  };
  const problem = keyPatchProblem(patch);
  if (problem) throw new AppError("invalid_request", problem.message, { param: problem.param });
  if (body.limits !== undefined) {
    const parsed = QuotaLimitsSchema.safeParse(body.limits);
    if (!parsed.success) throw new AppError("invalid_request", `Invalid limits: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`, { param: "limits" });
    if (!admin) {
      if ((body.limits as Record<string, unknown>).tariff_id !== (current?.limits.tariff_id ?? undefined) && "tariff_id" in body.limits) {
        throw new AppError("forbidden", "Only admins can set a key's tariff", { param: "limits.tariff_id" });
      }
      if (current && loosens(current.limits, body.limits)) {
        throw new AppError("forbidden", "Limits can be lowered or added here; raising or removing one needs an admin", { param: "limits" });
      }
      // A client keeps an admin-set tariff override on the key.
      if (current?.limits.tariff_id !== undefined) patch.limits = { ...body.limits, tariff_id: current.limits.tariff_id };
    }
  }
  return patch;
}

/** True when `after` removes or raises any limit `before` had. */
export function loosens(before: Record<string, unknown>, after: Record<string, unknown>): boolean {
  const b = mergeLimits(before);
  const a = mergeLimits(after);
  for (const p of PERIODS) {
    for (const f of ["tokens", "micros", "requests"] as const) {
      const was = b[p][f];
      const now = a[p][f];
      if (was !== null && (now === null || now > was)) return true;
    }
  }
  return false;
}

export function createApiKeyManageRoutes(deps: AppDeps) {
  const app = accountsRouter();
  app.use("/v1/auth/api-keys", principalAuth(deps));
  app.use("/v1/auth/api-keys/*", principalAuth(deps));
  const ip = clientIp;
  const notFound = (id: string) => new AppError("not_found", `No API key ${id}`, { param: "id" });

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/auth/api-keys",
      tags: ["API keys"],
      summary: "List the account's API keys (masked)",
      security,
      request: { query: ListQuery },
      responses: { 200: json(page(ApiKeySchema, "ApiKeyPage"), "Keys"), 401: err("Not authenticated") },
    }),
    async (c) => {
      const p = principalOf(c);
      const q = c.req.valid("query");
      // Another account's id is "not found" to a client: no hint that it exists.
      if (q.account_id && !isAdmin(p) && q.account_id !== p.accountId) throw new AppError("not_found", `No account ${q.account_id}`, { param: "account_id" });
      // An admin's own dashboard lists its own account unless it asks for another one.
      const accountId = isAdmin(p) ? (q.account_id ?? p.accountId ?? undefined) : p.accountId!;
      const res = await listKeys(deps.db, { accountId: isAdmin(p) ? null : p.accountId, actor: p.actor }, { accountId, status: q.status, q: q.q, limit: q.limit, cursor: q.cursor });
      if (q.include_stats === "true") {
        const stats = await keyUsageStats(deps.db, res.data.map((k) => k.id));
        return c.json(
          {
            data: res.data.map((k) => {
              const s = stats.get(k.id);
              // The verifier does not write last_used_at on the hot path; the request log knows.
              return { ...k, last_used_at: k.last_used_at ?? s?.lastAt?.toISOString() ?? null, usage: { requests: s?.requests ?? 0, tokens: s?.tokens ?? 0, spent: formatMoney(s?.priceMicros ?? 0n) } };
            }),
            next_cursor: res.next_cursor,
          },
          200,
        );
      }
      return c.json(res, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/api-keys",
      tags: ["API keys"],
      summary: "Create an API key (the secret is in the response, once)",
      security,
      request: { body: { content: { "application/json": { schema: CreateKey } }, required: true } },
      responses: { 201: json(NewApiKeySchema, "Created"), 400: err("Invalid"), 403: err("Not allowed"), 404: err("No such account") },
    }),
    async (c) => {
      const p = principalOf(c);
      const body = c.req.valid("json");
      if (body.account_id && !isAdmin(p) && body.account_id !== p.accountId) throw new AppError("not_found", `No account ${body.account_id}`, { param: "account_id" });
      const accountId = (isAdmin(p) ? body.account_id : undefined) ?? p.accountId;
      if (!accountId) throw new AppError("invalid_request", "account_id is required with the admin token", { param: "account_id" });
      const [acct] = await deps.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId));
      if (!acct) throw new AppError("not_found", `No account ${accountId}`, { param: "account_id" });
      const patch = toPatch(body, isAdmin(p), null);
      const userId = p.kind === "session" && p.accountId === accountId ? p.userId : null;
      const r = await issueKey(deps.db, { accountId: isAdmin(p) ? null : p.accountId, actor: p.actor, ip: ip(c) }, newKeyInput(accountId, patch, userId));
      return c.json({ ...keyView(r.row), secret: r.key }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/auth/api-keys/{id}",
      tags: ["API keys"],
      summary: "One API key (masked)",
      security,
      request: { params: IdParam },
      responses: { 200: json(ApiKeySchema, "The key"), 404: err("No such key in this account") },
    }),
    async (c) => {
      const p = principalOf(c);
      const { id } = c.req.valid("param");
      const k = await getKey(deps.db, scopeOf(p, ip(c)), id);
      if (!k) throw notFound(id);
      return c.json(keyView(k), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/auth/api-keys/{id}",
      tags: ["API keys"],
      summary: "Update name, status (enable/disable), scopes, models, IP allowlist, limits, expiry",
      security,
      request: { params: IdParam, body: { content: { "application/json": { schema: UpdateKey } }, required: true } },
      responses: { 200: json(ApiKeySchema, "Updated"), 400: err("Invalid"), 403: err("Not allowed"), 404: err("No such key in this account"), 409: err("Revoked") },
    }),
    async (c) => {
      const p = principalOf(c);
      const { id } = c.req.valid("param");
      const scope = scopeOf(p, ip(c));
      const current = await getKey(deps.db, scope, id);
      if (!current) throw notFound(id);
      const r = await updateKey(deps.db, scope, id, toPatch(c.req.valid("json"), isAdmin(p), current));
      if (!r.ok) throw r.reason === "not_found" ? notFound(id) : new AppError("conflict", "This key is revoked; create a new one");
      deps.keys.invalidate({ keyId: id });
      return c.json(keyView(r.after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/auth/api-keys/{id}",
      tags: ["API keys"],
      summary: "Revoke an API key (permanent)",
      security,
      request: { params: IdParam },
      responses: { 200: json(ApiKeySchema, "Revoked"), 404: err("No such key in this account") },
    }),
    async (c) => {
      const p = principalOf(c);
      const { id } = c.req.valid("param");
      const r = await revokeKey(deps.db, scopeOf(p, ip(c)), id);
      if (!r.ok) throw notFound(id);
      deps.keys.invalidate({ keyId: id });
      return c.json(keyView(r.after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/api-keys/{id}/rotate",
      tags: ["API keys"],
      summary: "Rotate: a new secret for the same key; the old one works for grace_seconds",
      security,
      request: { params: IdParam, body: { content: { "application/json": { schema: Rotate } }, required: false } },
      responses: { 200: json(NewApiKeySchema, "Rotated"), 404: err("No such key in this account"), 409: err("Revoked") },
    }),
    async (c) => {
      const p = principalOf(c);
      const { id } = c.req.valid("param");
      let grace = 3600;
      if ((c.req.header("content-type") ?? "").includes("json")) grace = c.req.valid("json")?.grace_seconds ?? 3600;
      const r = await rotateKey(deps.db, scopeOf(p, ip(c)), id, grace, new Date(deps.clock.now()));
      if (!r.ok) throw r.reason === "not_found" ? notFound(id) : new AppError("conflict", "This key is revoked; create a new one");
      deps.keys.invalidate({ keyId: id });
      return c.json({ ...keyView(r.after), secret: r.key }, 200);
    },
  );

  return app;
}
