import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import {
  accountView,
  getAccountDetail,
  listAccounts,
  listAudit,
  listClients,
  listRequestLogs,
  listUsers,
  platformStats,
  updateAccount,
  updateUser,
} from "../../accounts/admin.js";
import { getKey, issueKey, keyUsageStats, keyView, listKeys, newKeyInput, revokeKey, rotateKey, updateKey, type Scope } from "../../accounts/api-keys.js";
import { linkDid } from "../../accounts/did.js";
import { publicKeyFromDid } from "../../accounts/did-crypto.js";
import { passwordProblem } from "../../accounts/password.js";
import { createUser, findUserByEmail, getUser, userView } from "../../accounts/users.js";
import { writeAudit } from "../../audit/index.js";
import { QuotaLimitsSchema } from "../../billing/quotas.js";
import { AppError } from "../../core/errors.js";
import { formatMoney, parseMoney } from "../../core/money.js";
import { accounts, apiKeys } from "../../db/schema/index.js";
import { hashApiKey, looksLikeApiKey } from "../../keys/index.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { adminAuth } from "../middleware/admin-auth.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { AccountSchema, accountsRouter, ApiKeySchema, err, json, KeySettings, Money, NewApiKeySchema, page, PageQuery, UserSchema } from "./accounts-schemas.js";
import { toPatch } from "./api-keys-manage.js";

/**
 * Admin API over users, accounts, keys, request logs and the audit log, plus seed 002's
 * `/v1/admin/*` paths (`/v1/admin/master-accounts` is the routing module's). `/admin/*` is behind the gateway's admin middleware (ADMIN_TOKEN or an
 * admin user's session); `/v1/admin/*` gets the same middleware here. Every write is audited in
 * its own transaction.
 */

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
const DateQ = z.iso.datetime({ offset: true }).optional();
const security = [{ adminToken: [] }];

const AccountPatch = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    status: z.enum(["active", "blocked"]).optional(),
    limits: z.record(z.string(), z.unknown()).optional(),
    low_balance_threshold: Money.nullable().optional(),
  })
  .openapi("AccountPatch");

const UserPatch = z
  .object({ role: z.enum(["client", "admin"]).optional(), status: z.enum(["active", "blocked"]).optional(), name: z.string().max(200).nullable().optional() })
  .openapi("UserPatch");

const NewUser = z
  .object({
    account_id: z.string().min(1),
    email: z.string().trim().email().max(254),
    password: z.string().max(256).optional(),
    name: z.string().max(200).optional(),
    role: z.enum(["client", "admin"]).default("client"),
  })
  .openapi("CreateUserRequest");

const AccountDetail = AccountSchema.extend({ users: z.array(UserSchema) }).openapi("AccountWithUsers");
const LogSchema = z.record(z.string(), z.unknown()).openapi("RequestLog");
const AuditSchema = z
  .object({
    id: z.string(),
    actor: z.string(),
    action: z.string(),
    target_type: z.string(),
    target_id: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    ip: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("AuditEntry");

const LogQuery = z.object({
  ...PageQuery,
  account_id: z.string().max(100).optional(),
  key_id: z.string().max(100).optional(),
  model: z.string().max(200).optional(),
  status: z.enum(["pending", "completed", "failed", "cancelled"]).optional(),
  provider_id: z.string().max(100).optional(),
  usage_anomaly: z.enum(["true", "false"]).optional().openapi({ description: "Only rows whose upstream usage report was corrected before billing (true), or only the others" }),
  from: DateQ,
  to: DateQ,
});

function date(s: string | undefined): Date | undefined {
  return s ? new Date(s) : undefined;
}

export function createAdminAccountRoutes(deps: AppDeps) {
  const app = accountsRouter();
  // /admin/* is guarded by the app-level admin middleware; the seed paths get it here.
  app.use("/v1/admin/*", adminAuth(deps));
  const cur = deps.settings.currency;
  const who = (c: Context<AppEnv>) => ({ actor: c.get("actor"), ip: clientIp(c) });
  const adminScope = (c: Context<AppEnv>): Scope => ({ accountId: null, ...who(c) });

  async function invalidateUserKeys(userId: string) {
    const ks = await deps.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.userId, userId));
    for (const k of ks) deps.keys.invalidate({ keyId: k.id });
  }

  // ------------------------------------------------------------ accounts

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/accounts",
      tags: ["Admin: accounts"],
      summary: "List/search accounts (name, id, or a user's email/name/Telegram id)",
      security,
      request: { query: z.object({ ...PageQuery, q: z.string().max(200).optional(), status: z.enum(["active", "blocked"]).optional() }) },
      responses: { 200: json(page(AccountSchema, "AccountPage"), "Accounts") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json(await listAccounts(deps.db, cur, q), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/accounts/{id}",
      tags: ["Admin: accounts"],
      summary: "One account with its users",
      security,
      request: { params: IdParam },
      responses: { 200: json(AccountDetail, "The account"), 404: err("No such account") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const a = await getAccountDetail(deps.db, id, cur);
      if (!a) throw new AppError("not_found", `No account ${id}`);
      return c.json(a, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/admin/accounts/{id}",
      tags: ["Admin: accounts"],
      summary: "Rename, block/unblock, set account quotas or the low-balance threshold",
      description: "Blocking stops the account's keys within the key-cache TTL (at once on this instance) and its users' sessions.",
      security,
      request: { params: IdParam, body: { content: { "application/json": { schema: AccountPatch } }, required: true } },
      responses: { 200: json(AccountSchema, "Updated"), 400: err("Invalid"), 404: err("No such account") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      if (body.limits) {
        const r = QuotaLimitsSchema.safeParse(body.limits);
        if (!r.success) throw new AppError("invalid_request", `Invalid limits: ${r.error.issues[0]?.path.join(".")} ${r.error.issues[0]?.message}`, { param: "limits" });
      }
      let threshold: bigint | null | undefined;
      if (body.low_balance_threshold !== undefined) threshold = body.low_balance_threshold === null ? null : parseMoney(body.low_balance_threshold);
      const r = await updateAccount(deps.db, who(c), id, { name: body.name, status: body.status, limits: body.limits, lowBalanceThresholdMicros: threshold });
      if (!r) throw new AppError("not_found", `No account ${id}`);
      deps.keys.invalidate({ accountId: id });
      return c.json(accountView(r.after, cur), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/accounts/{id}/keys",
      tags: ["Admin: accounts"],
      summary: "The account's API keys (masked)",
      security,
      request: { params: IdParam, query: z.object({ ...PageQuery, status: z.enum(["active", "disabled", "revoked"]).optional() }) },
      responses: { 200: json(page(ApiKeySchema, "AccountKeyPage"), "Keys"), 404: err("No such account") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const [a] = await deps.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, id));
      if (!a) throw new AppError("not_found", `No account ${id}`);
      return c.json(await listKeys(deps.db, adminScope(c), { ...c.req.valid("query"), accountId: id }), 200);
    },
  );

  // ------------------------------------------------------------ users

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/users",
      tags: ["Admin: users"],
      summary: "List/search users (email, name, id, Telegram id, DID)",
      security,
      request: {
        query: z.object({
          ...PageQuery,
          q: z.string().max(200).optional(),
          role: z.enum(["client", "admin"]).optional(),
          status: z.enum(["active", "blocked"]).optional(),
          account_id: z.string().max(100).optional(),
        }),
      },
      responses: { 200: json(page(UserSchema, "UserPage"), "Users") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json(await listUsers(deps.db, { ...q, accountId: q.account_id }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/users",
      tags: ["Admin: users"],
      summary: "Create a user in an account (e.g. another admin)",
      security,
      request: { body: { content: { "application/json": { schema: NewUser } }, required: true } },
      responses: { 201: json(UserSchema, "Created"), 400: err("Invalid"), 404: err("No such account"), 409: err("Email taken") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      if (body.password !== undefined) {
        const p = passwordProblem(body.password);
        if (p) throw new AppError("invalid_request", p, { param: "password" });
      }
      const [a] = await deps.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, body.account_id));
      if (!a) throw new AppError("not_found", `No account ${body.account_id}`, { param: "account_id" });
      if (await findUserByEmail(deps.db, body.email)) throw new AppError("conflict", "This email is already registered", { param: "email" });
      const actor = who(c);
      const u = await deps.db.transaction(async (tx) => {
        const created = await createUser(tx, { accountId: body.account_id, email: body.email, password: body.password ?? null, name: body.name ?? null, role: body.role });
        await writeAudit(tx, { ...actor, action: "user.create", targetType: "user", targetId: created.id, after: { account_id: created.accountId, email: created.email, role: created.role } });
        return created;
      });
      return c.json(userView(u), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/users/{id}",
      tags: ["Admin: users"],
      summary: "One user",
      security,
      request: { params: IdParam },
      responses: { 200: json(UserSchema, "The user"), 404: err("No such user") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const u = await getUser(deps.db, id);
      if (!u) throw new AppError("not_found", `No user ${id}`);
      return c.json(userView(u), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/admin/users/{id}",
      tags: ["Admin: users"],
      summary: "Change role, block/unblock, rename",
      description: "Blocking ends the user's sessions and stops keys bound to the user within the key-cache TTL.",
      security,
      request: { params: IdParam, body: { content: { "application/json": { schema: UserPatch } }, required: true } },
      responses: { 200: json(UserSchema, "Updated"), 404: err("No such user") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const r = await updateUser(deps.db, who(c), id, c.req.valid("json"));
      if (!r) throw new AppError("not_found", `No user ${id}`);
      await invalidateUserKeys(id);
      return c.json(userView(r.after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/users/{id}/did",
      tags: ["Admin: users"],
      summary: "Bind a did:key to the user; its signed requests run under key_id",
      security,
      request: {
        params: IdParam,
        body: { content: { "application/json": { schema: z.object({ did: z.string().max(128), key_id: z.string().max(100) }).openapi("LinkDidRequest") } }, required: true },
      },
      responses: { 200: json(UserSchema, "Linked"), 400: err("Invalid"), 404: err("No such user or key"), 409: err("DID in use") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const pk = publicKeyFromDid(body.did);
      if (!pk) throw new AppError("invalid_request", "did must be a did:key with an Ed25519 key", { param: "did" });
      const u = await getUser(deps.db, id);
      const k = u ? await getKey(deps.db, { accountId: u.accountId, actor: "" }, body.key_id) : null;
      if (!u || !k) throw new AppError("not_found", !u ? `No user ${id}` : `No key ${body.key_id} in the user's account`);
      try {
        await linkDid(deps.db, { did: body.did, publicKey: pk, userId: id, keyId: k.id });
      } catch {
        throw new AppError("conflict", "This DID is already linked (or the user has another DID)", { param: "did" });
      }
      await writeAudit(deps.db, { ...who(c), action: "user.link_did", targetType: "user", targetId: id, after: { did: body.did, key_id: k.id } });
      return c.json(userView((await getUser(deps.db, id))!), 200);
    },
  );

  // ------------------------------------------------------------ keys (any account)

  const KeyList = z.object({
    ...PageQuery,
    account_id: z.string().max(100).optional(),
    status: z.enum(["active", "disabled", "revoked"]).optional(),
    q: z.string().max(200).optional(),
    include_stats: z.enum(["true", "false"]).optional(),
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/keys",
      tags: ["Admin: keys"],
      summary: "List/search keys of every account (masked)",
      security,
      request: { query: KeyList },
      responses: { 200: json(page(ApiKeySchema, "AdminKeyPage"), "Keys") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const res = await listKeys(deps.db, adminScope(c), { accountId: q.account_id, status: q.status, q: q.q, limit: q.limit, cursor: q.cursor });
      if (q.include_stats !== "true") return c.json(res, 200);
      const stats = await keyUsageStats(deps.db, res.data.map((k) => k.id));
      return c.json(
        {
          data: res.data.map((k) => {
            const s = stats.get(k.id);
            return { ...k, usage: { requests: s?.requests ?? 0, tokens: s?.tokens ?? 0, spent: formatMoney(s?.priceMicros ?? 0n) } };
          }),
          next_cursor: res.next_cursor,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/keys",
      tags: ["Admin: keys"],
      summary: "Create a key in any account, with every setting (secret shown once)",
      security,
      request: { body: { content: { "application/json": { schema: z.object({ ...KeySettings, account_id: z.string().min(1) }).openapi("AdminCreateKeyRequest") } }, required: true } },
      responses: { 201: json(NewApiKeySchema, "Created"), 400: err("Invalid"), 404: err("No such account") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const [a] = await deps.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, body.account_id));
      if (!a) throw new AppError("not_found", `No account ${body.account_id}`, { param: "account_id" });
      const p = toPatch(body, true, null);
      const r = await issueKey(deps.db, adminScope(c), newKeyInput(body.account_id, p));
      return c.json({ ...keyView(r.row), secret: r.key }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/keys/lookup",
      tags: ["Admin: keys"],
      summary: "Find a key by its full secret (e.g. one reported as leaked), without putting it in a URL",
      security,
      request: { body: { content: { "application/json": { schema: z.object({ key: z.string().max(200) }).openapi("KeyLookupRequest") } }, required: true } },
      responses: { 200: json(ApiKeySchema, "The key"), 404: err("No such key") },
    }),
    async (c) => {
      const { key } = c.req.valid("json");
      const h = looksLikeApiKey(key) ? hashApiKey(key) : null;
      const [row] = h ? await deps.db.select().from(apiKeys).where(eq(apiKeys.keyHash, h)) : [];
      if (!row) throw new AppError("not_found", "No key with that secret");
      return c.json(keyView(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/keys/{id}",
      tags: ["Admin: keys"],
      summary: "One key (masked)",
      security,
      request: { params: IdParam },
      responses: { 200: json(ApiKeySchema, "The key"), 404: err("No such key") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const k = await getKey(deps.db, adminScope(c), id);
      if (!k) throw new AppError("not_found", `No API key ${id}`);
      return c.json(keyView(k), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/admin/keys/{id}",
      tags: ["Admin: keys"],
      summary: "Update any setting of a key, including limits, rate limits and options",
      security,
      request: { params: IdParam, body: { content: { "application/json": { schema: z.object({ ...KeySettings, status: z.enum(["active", "disabled"]).optional() }).openapi("AdminUpdateKeyRequest") } }, required: true } },
      responses: { 200: json(ApiKeySchema, "Updated"), 404: err("No such key"), 409: err("Revoked") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const r = await updateKey(deps.db, adminScope(c), id, toPatch(c.req.valid("json"), true, null));
      if (!r.ok) throw r.reason === "not_found" ? new AppError("not_found", `No API key ${id}`) : new AppError("conflict", "This key is revoked");
      deps.keys.invalidate({ keyId: id });
      return c.json(keyView(r.after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/keys/{id}",
      tags: ["Admin: keys"],
      summary: "Revoke a key",
      security,
      request: { params: IdParam },
      responses: { 200: json(ApiKeySchema, "Revoked"), 404: err("No such key") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const r = await revokeKey(deps.db, adminScope(c), id);
      if (!r.ok) throw new AppError("not_found", `No API key ${id}`);
      deps.keys.invalidate({ keyId: id });
      return c.json(keyView(r.after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/keys/{id}/rotate",
      tags: ["Admin: keys"],
      summary: "Rotate a key's secret with a grace period for the old one",
      security,
      request: { params: IdParam, body: { content: { "application/json": { schema: z.object({ grace_seconds: z.number().int().min(0).max(30 * 86400).default(3600) }) } }, required: false } },
      responses: { 200: json(NewApiKeySchema, "Rotated"), 404: err("No such key"), 409: err("Revoked") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      let grace = 3600;
      if ((c.req.header("content-type") ?? "").includes("json")) grace = c.req.valid("json")?.grace_seconds ?? 3600;
      const r = await rotateKey(deps.db, adminScope(c), id, grace, new Date(deps.clock.now()));
      if (!r.ok) throw r.reason === "not_found" ? new AppError("not_found", `No API key ${id}`) : new AppError("conflict", "This key is revoked");
      deps.keys.invalidate({ keyId: id });
      return c.json({ ...keyView(r.after), secret: r.key }, 200);
    },
  );

  // ------------------------------------------------------------ logs and audit

  for (const path of ["/admin/logs", "/v1/admin/logs"] as const) {
    app.openapi(
      createRoute({
        method: "get",
        path,
        tags: ["Admin: logs"],
        summary: "Request logs, newest first, with filters",
        security,
        request: { query: LogQuery },
        responses: { 200: json(page(LogSchema, path === "/admin/logs" ? "RequestLogPage" : "SeedRequestLogPage"), "Logs") },
      }),
      async (c) => {
        const q = c.req.valid("query");
        return c.json(
          await listRequestLogs(deps.db, {
            accountId: q.account_id,
            keyId: q.key_id,
            model: q.model,
            status: q.status,
            providerId: q.provider_id,
            usageAnomaly: q.usage_anomaly === undefined ? undefined : q.usage_anomaly === "true",
            from: date(q.from),
            to: date(q.to),
            limit: q.limit,
            cursor: q.cursor,
          }),
          200,
        );
      },
    );
  }

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/audit-log",
      tags: ["Admin: logs"],
      summary: "Audit log of admin writes: who, what, before/after, when",
      security,
      request: {
        query: z.object({
          ...PageQuery,
          actor: z.string().max(200).optional(),
          action: z.string().max(100).optional().openapi({ description: "Exact, or a prefix with `.*` (e.g. `key.*`)" }),
          target_type: z.string().max(50).optional(),
          target_id: z.string().max(100).optional(),
          from: DateQ,
          to: DateQ,
        }),
      },
      responses: { 200: json(page(AuditSchema, "AuditPage"), "Entries") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json(
        await listAudit(deps.db, { actor: q.actor, action: q.action, targetType: q.target_type, targetId: q.target_id, from: date(q.from), to: date(q.to), limit: q.limit, cursor: q.cursor }),
        200,
      );
    },
  );

  // ------------------------------------------------------------ seed 002 platform views

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/admin/stats",
      tags: ["Admin: platform"],
      summary: "Platform totals: accounts, users, keys, balances, requests, revenue, cost, profit",
      security,
      request: { query: z.object({ from: DateQ, to: DateQ }) },
      responses: { 200: json(z.record(z.string(), z.unknown()).openapi("PlatformStats"), "Stats") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json(await platformStats(deps.db, cur, { from: date(q.from), to: date(q.to) }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/admin/clients",
      tags: ["Admin: platform"],
      summary: "Users with their account balance and lifetime usage",
      security,
      request: { query: z.object({ ...PageQuery, q: z.string().max(200).optional(), status: z.enum(["active", "blocked"]).optional() }) },
      responses: { 200: json(page(z.record(z.string(), z.unknown()), "ClientPage"), "Clients") },
    }),
    async (c) => c.json(await listClients(deps.db, cur, c.req.valid("query")), 200),
  );

  return app;
}
