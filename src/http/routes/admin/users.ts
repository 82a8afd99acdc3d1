import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import { listUsers } from "../../../accounts/admin.js";
import { getKey } from "../../../accounts/api-keys.js";
import { linkDid } from "../../../accounts/did.js";
import { publicKeyFromDid } from "../../../accounts/did-crypto.js";
import { passwordProblem } from "../../../accounts/password.js";
import { createUser, findUserByEmail, getUser, userView } from "../../../accounts/users.js";
import { writeAudit } from "../../../audit/index.js";
import { AppError } from "../../../core/errors.js";
import { accounts } from "../../../db/schema/index.js";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { err, json, page, PageQuery, UserSchema } from "../accounts-schemas.js";

import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, SECURITY } from "../../openapi.js";
import { IdParam, UserPatch, NewUser } from "../../views/accounts.js";

/** Admin: users (list, create, one, update, bind a DID). Every write is audited in its own transaction. */
export function createAdminUserRoutes(deps: AppDeps) {
  const app = createRouter();
  const add = routesOf(app, { tag: "Admin: users", security: SECURITY.admin, errors: ADMIN_ERRORS });
  const who = (c: Context<AppEnv>) => ({ actor: c.get("actor"), ip: clientIp(c) });
  // ------------------------------------------------------------ users

  add(
    {
      method: "get",
      path: "/admin/users",
      summary: "List/search users (email, name, id, Telegram id, DID)",
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
    },
    async (c) => {
      const q = c.req.valid("query");
      return c.json(await listUsers(deps.db, { ...q, accountId: q.account_id }), 200);
    },
  );

  add(
    {
      method: "post",
      path: "/admin/users",
      summary: "Create a user in an account (e.g. another admin)",
      request: { body: { content: { "application/json": { schema: NewUser } }, required: true } },
      responses: { 201: json(UserSchema, "Created"), 400: err("Invalid"), 404: err("No such account"), 409: err("Email taken") },
    },
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
        const created = await createUser(tx, {
          accountId: body.account_id,
          email: body.email,
          password: body.password ?? null,
          name: body.name ?? null,
          role: body.role,
        });
        await writeAudit(tx, {
          ...actor,
          action: "user.create",
          targetType: "user",
          targetId: created.id,
          after: { account_id: created.accountId, email: created.email, role: created.role },
        });
        return created;
      });
      return c.json(userView(u), 201);
    },
  );

  add(
    {
      method: "get",
      path: "/admin/users/{id}",
      summary: "One user",
      request: { params: IdParam },
      responses: { 200: json(UserSchema, "The user"), 404: err("No such user") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const u = await getUser(deps.db, id);
      if (!u) throw new AppError("not_found", `No user ${id}`);
      return c.json(userView(u), 200);
    },
  );

  add(
    {
      method: "patch",
      path: "/admin/users/{id}",
      summary: "Change role, block/unblock, rename",
      description: "Blocking ends the user's sessions and stops keys bound to the user within the key-cache TTL.",
      request: { params: IdParam, body: { content: { "application/json": { schema: UserPatch } }, required: true } },
      responses: { 200: json(UserSchema, "Updated"), 404: err("No such user") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const r = await deps.accountAdmin.updateUser(who(c), id, c.req.valid("json"));
      if (!r) throw new AppError("not_found", `No user ${id}`);
      return c.json(userView(r.after), 200);
    },
  );

  add(
    {
      method: "post",
      path: "/admin/users/{id}/did",
      summary: "Bind a did:key to the user; its signed requests run under key_id",
      request: {
        params: IdParam,
        body: {
          content: { "application/json": { schema: z.object({ did: z.string().max(128), key_id: z.string().max(100) }).openapi("LinkDidRequest") } },
          required: true,
        },
      },
      responses: { 200: json(UserSchema, "Linked"), 400: err("Invalid"), 404: err("No such user or key"), 409: err("DID in use") },
    },
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
  return app;
}
