import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import { accountView, getAccountDetail, listAccounts } from "../../../accounts/admin.js";
import { listKeys, type Scope } from "../../../accounts/api-keys.js";
import { writeAudit } from "../../../audit/index.js";
import { QuotaLimitsSchema } from "../../../billing/quotas.js";
import { AppError } from "../../../core/errors.js";
import { formatMoney, parseMoney } from "../../../core/money.js";
import { accounts } from "../../../db/schema/index.js";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { AccountSchema, ApiKeySchema, err, json, page, PageQuery } from "../accounts-schemas.js";

import { createAccount, getAccount } from "../../../accounts/users.js";
import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, body, errorResponses, SECURITY } from "../../openapi.js";
import { IdParam, AccountPatch, AccountDetail, CreateAccount, NewAccountSchema, GenerateKey, GeneratedKey } from "../../views/accounts.js";

/** Admin: accounts (list, one, update, their keys). Every write is audited in its own transaction. */
export function createAdminAccountRoutes(deps: AppDeps) {
  const app = createRouter();
  const add = routesOf(app, { tag: "Admin: accounts", security: SECURITY.admin, errors: ADMIN_ERRORS });
  const cur = deps.settings.currency;
  const who = (c: Context<AppEnv>) => ({ actor: c.get("actor"), ip: clientIp(c) });
  const adminScope = (c: Context<AppEnv>): Scope => ({ accountId: null, ...who(c) });
  // ------------------------------------------------------------ accounts

  add(
    {
      method: "get",
      path: "/admin/accounts",
      summary: "List/search accounts (name, id, or a user's email/name/Telegram id)",
      request: { query: z.object({ ...PageQuery, q: z.string().max(200).optional(), status: z.enum(["active", "blocked"]).optional() }) },
      responses: { 200: json(page(AccountSchema, "AccountPage"), "Accounts") },
    },
    async (c) => {
      const q = c.req.valid("query");
      return c.json(await listAccounts(deps.db, cur, q), 200);
    },
  );

  add(
    {
      method: "get",
      path: "/admin/accounts/{id}",
      summary: "One account with its users",
      request: { params: IdParam },
      responses: { 200: json(AccountDetail, "The account"), 404: err("No such account") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const a = await getAccountDetail(deps.db, id, cur);
      if (!a) throw new AppError("not_found", `No account ${id}`);
      return c.json(a, 200);
    },
  );

  add(
    {
      method: "patch",
      path: "/admin/accounts/{id}",
      summary: "Rename, block/unblock, set account quotas or the low-balance threshold",
      description: "Blocking stops the account's keys within the key-cache TTL (at once on this instance) and its users' sessions.",
      request: { params: IdParam, body: { content: { "application/json": { schema: AccountPatch } }, required: true } },
      responses: { 200: json(AccountSchema, "Updated"), 400: err("Invalid"), 404: err("No such account") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      if (body.limits) {
        const r = QuotaLimitsSchema.safeParse(body.limits);
        if (!r.success)
          throw new AppError("invalid_request", `Invalid limits: ${r.error.issues[0]?.path.join(".")} ${r.error.issues[0]?.message}`, { param: "limits" });
      }
      let threshold: bigint | null | undefined;
      if (body.low_balance_threshold !== undefined) threshold = body.low_balance_threshold === null ? null : parseMoney(body.low_balance_threshold);
      const r = await deps.accountAdmin.updateAccount(who(c), id, {
        name: body.name,
        status: body.status,
        limits: body.limits,
        lowBalanceThresholdMicros: threshold,
      });
      if (!r) throw new AppError("not_found", `No account ${id}`);
      return c.json(accountView(r.after, cur), 200);
    },
  );

  add(
    {
      method: "get",
      path: "/admin/accounts/{id}/keys",
      summary: "The account's API keys (masked)",
      request: { params: IdParam, query: z.object({ ...PageQuery, status: z.enum(["active", "disabled", "revoked"]).optional() }) },
      responses: { 200: json(page(ApiKeySchema, "AccountKeyPage"), "Keys"), 404: err("No such account") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const [a] = await deps.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, id));
      if (!a) throw new AppError("not_found", `No account ${id}`);
      return c.json(await listKeys(deps.db, adminScope(c), { ...c.req.valid("query"), accountId: id }), 200);
    },
  );

  add(
    {
      method: "post",
      path: "/admin/accounts",
      summary: "Create an account (optionally with an opening balance, credited through the ledger)",
      request: body(CreateAccount),
      responses: { 201: json(NewAccountSchema, "Created"), ...errorResponses("invalid_request") },
    },
    async (c) => {
      const b = c.req.valid("json");
      const actor = c.get("actor");
      const row = await deps.db.transaction(async (tx) => {
        const a = await createAccount(tx, {
          name: b.name,
          tariffId: b.tariff_id ?? null,
          openingBalanceMicros: b.initial_balance ? parseMoney(b.initial_balance) : 0n,
          actor,
        });
        await writeAudit(tx, { actor, action: "account.create", targetType: "account", targetId: a.id, after: a });
        return a;
      });
      const view = {
        id: row.id,
        name: row.name,
        status: row.status,
        balance: formatMoney(row.balanceMicros),
        currency: cur,
        tariff_id: row.tariffId,
        created_at: row.createdAt.toISOString(),
      };
      return c.json(view, 201);
    },
  );

  add(
    {
      method: "post",
      path: "/v1/key/generate",
      tags: ["Admin: keys"],
      summary: "Generate an API key for an account (shown once)",
      request: body(GenerateKey),
      responses: { 201: json(GeneratedKey, "Created"), ...errorResponses("invalid_request", "not_found") },
    },
    async (c) => {
      const b = c.req.valid("json");
      if (!(await getAccount(deps.db, b.account_id))) throw new AppError("not_found", `No account ${b.account_id}`, { param: "account_id" });
      const input = {
        accountId: b.account_id,
        name: b.name,
        scopes: b.scopes,
        allowedModels: b.allowed_models ?? null,
        expiresAt: b.expires_at ? new Date(b.expires_at) : null,
        limits: b.limits,
        rateLimits: b.rate_limits ?? null,
      };
      const { row, key } = await deps.keyWrites.issueKey(adminScope(c), input);
      return c.json({ id: row.id, key, start: row.start, account_id: row.accountId, name: row.name, created_at: row.createdAt.toISOString() }, 201);
    },
  );
  return app;
}
