import type { Context } from "hono";
import { findKeyByHash, getKey, keyUsageStats, keyView, listKeys, newKeyInput } from "../../accounts/api-keys.js";
import { getAccount } from "../../accounts/users.js";
import { AppError } from "../../core/errors.js";
import { formatMoney } from "../../core/money.js";
import { hashApiKey, looksLikeApiKey } from "../../keys/index.js";
import type { AppEnv, Principal } from "../context.js";
import { routesOf } from "../define-routes.js";
import type { AppDeps } from "../deps.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { body, errorResponses, IdParam, json, type Security } from "../openapi.js";
import { createRouter } from "../router.js";
import { CreateKey, isAdmin, ListQuery, Rotate, scopeOf, toPatch, UpdateKey } from "../views/keys.js";
import { ApiKeySchema, NewApiKeySchema, page } from "./accounts-schemas.js";
import { z } from "@hono/zod-openapi";

export interface KeyRoutesOptions {
  /** `/admin/keys` (any account) or `/v1/auth/api-keys` (the caller's own account). */
  prefix: "/admin/keys" | "/v1/auth/api-keys";
  tag: string;
  security: Security;
  /** Who acts: the admin behind the admin middleware, or the session / manage key. */
  principal(c: Context<AppEnv>): Principal;
}

const notFound = (id: string) => new AppError("not_found", `No API key ${id}`, { param: "id" });
const revoked = () => new AppError("conflict", "This key is revoked; create a new one");

/**
 * One key router for both audiences. A client (session or `manage` key) only ever sees its own
 * account's keys (another account's key id is a 404); an admin acts on any key and may set rate
 * limits and options. Mounted at /admin/keys and /v1/auth/api-keys.
 */
export function createKeyRoutes(deps: AppDeps, o: KeyRoutesOptions) {
  const app = createRouter();
  const add = routesOf(app, { tag: o.tag, security: o.security, errors: ["missing_api_key", "invalid_api_key", "forbidden"] });
  const base = o.prefix;
  const withStats = async (res: Awaited<ReturnType<typeof listKeys>>) => {
    const stats = await keyUsageStats(
      deps.db,
      res.data.map((k) => k.id),
    );
    const data = res.data.map((k) => {
      const s = stats.get(k.id);
      // The verifier does not write last_used_at on the hot path; the request log knows.
      return {
        ...k,
        last_used_at: k.last_used_at ?? s?.lastAt?.toISOString() ?? null,
        usage: { requests: s?.requests ?? 0, tokens: s?.tokens ?? 0, spent: formatMoney(s?.priceMicros ?? 0n) },
      };
    });
    return { data, next_cursor: res.next_cursor };
  };

  add(
    {
      method: "get",
      path: base,
      summary: "List API keys (masked)",
      request: { query: ListQuery },
      responses: { 200: json(page(ApiKeySchema, `${o.tag.replace(/\W/g, "")}KeyPage`), "Keys") },
    },
    async (c) => {
      const p = o.principal(c);
      const q = c.req.valid("query");
      // Another account's id is "not found" to a client: no hint that it exists.
      if (q.account_id && !isAdmin(p) && q.account_id !== p.accountId) throw new AppError("not_found", `No account ${q.account_id}`, { param: "account_id" });
      // An admin's own dashboard lists its own account unless it asks for another one.
      const accountId = isAdmin(p) ? (q.account_id ?? p.accountId ?? undefined) : (p.accountId ?? undefined);
      const res = await listKeys(
        deps.db,
        { accountId: isAdmin(p) ? null : p.accountId, actor: p.actor },
        { accountId, status: q.status, q: q.q, limit: q.limit, cursor: q.cursor },
      );
      return c.json(q.include_stats === "true" ? await withStats(res) : res, 200);
    },
  );

  add(
    {
      method: "post",
      path: base,
      summary: "Create an API key (the secret is in the response, once)",
      request: body(CreateKey),
      responses: { 201: json(NewApiKeySchema, "Created"), ...errorResponses("invalid_request", "forbidden", "not_found") },
    },
    async (c) => {
      const p = o.principal(c);
      const b = c.req.valid("json");
      if (b.account_id && !isAdmin(p) && b.account_id !== p.accountId) throw new AppError("not_found", `No account ${b.account_id}`, { param: "account_id" });
      const accountId = (isAdmin(p) ? b.account_id : undefined) ?? p.accountId;
      if (!accountId) throw new AppError("invalid_request", "account_id is required with the admin token", { param: "account_id" });
      if (!(await getAccount(deps.db, accountId))) throw new AppError("not_found", `No account ${accountId}`, { param: "account_id" });
      const patch = toPatch(b, isAdmin(p), null);
      const userId = p.kind === "session" && p.accountId === accountId ? p.userId : null;
      const r = await deps.keyWrites.issueKey(scopeOf(p, clientIp(c)), newKeyInput(accountId, patch, userId));
      return c.json({ ...keyView(r.row), secret: r.key }, 201);
    },
  );

  if (base === "/admin/keys") {
    add(
      {
        method: "post",
        path: "/admin/keys/lookup",
        summary: "Find a key by its full secret (e.g. one reported as leaked), without putting it in a URL",
        request: body(z.object({ key: z.string().max(200) }).openapi("KeyLookupRequest")),
        responses: { 200: json(ApiKeySchema, "The key"), ...errorResponses("not_found") },
      },
      async (c) => {
        const { key } = c.req.valid("json");
        const row = looksLikeApiKey(key) ? await findKeyByHash(deps.db, hashApiKey(key)) : null;
        if (!row) throw new AppError("not_found", "No key with that secret");
        return c.json(keyView(row), 200);
      },
    );
  }

  add(
    {
      method: "get",
      path: `${base}/{id}`,
      summary: "One API key (masked)",
      request: { params: IdParam },
      responses: { 200: json(ApiKeySchema, "The key"), ...errorResponses("not_found") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const k = await getKey(deps.db, scopeOf(o.principal(c), clientIp(c)), id);
      if (!k) throw notFound(id);
      return c.json(keyView(k), 200);
    },
  );

  add(
    {
      method: "patch",
      path: `${base}/{id}`,
      summary: "Update name, status (enable/disable), scopes, models, IP allowlist, limits, expiry",
      request: { params: IdParam, ...body(UpdateKey) },
      responses: { 200: json(ApiKeySchema, "Updated"), ...errorResponses("invalid_request", "forbidden", "not_found", "conflict") },
    },
    async (c) => {
      const p = o.principal(c);
      const { id } = c.req.valid("param");
      const scope = scopeOf(p, clientIp(c));
      const current = await getKey(deps.db, scope, id);
      if (!current) throw notFound(id);
      const r = await deps.keyWrites.updateKey(scope, id, toPatch(c.req.valid("json"), isAdmin(p), current));
      if (!r.ok) throw r.reason === "not_found" ? notFound(id) : revoked();
      return c.json(keyView(r.after), 200);
    },
  );

  add(
    {
      method: "delete",
      path: `${base}/{id}`,
      summary: "Revoke an API key (permanent)",
      request: { params: IdParam },
      responses: { 200: json(ApiKeySchema, "Revoked"), ...errorResponses("not_found") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const r = await deps.keyWrites.revokeKey(scopeOf(o.principal(c), clientIp(c)), id);
      if (!r.ok) throw notFound(id);
      return c.json(keyView(r.after), 200);
    },
  );

  add(
    {
      method: "post",
      path: `${base}/{id}/rotate`,
      summary: "Rotate: a new secret for the same key; the old one works for grace_seconds",
      request: { params: IdParam, body: { content: { "application/json": { schema: Rotate } }, required: false } },
      responses: { 200: json(NewApiKeySchema, "Rotated"), ...errorResponses("not_found", "conflict") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      let grace = 3600;
      if ((c.req.header("content-type") ?? "").includes("json")) grace = c.req.valid("json")?.grace_seconds ?? 3600;
      const r = await deps.keyWrites.rotateKey(scopeOf(o.principal(c), clientIp(c)), id, grace, new Date(deps.clock.now()));
      if (!r.ok) throw r.reason === "not_found" ? notFound(id) : revoked();
      return c.json({ ...keyView(r.after), secret: r.key }, 200);
    },
  );
  return app;
}
