import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, isNull, ne } from "drizzle-orm";
import { hashPassword, passwordProblem, verifyPassword } from "../../accounts/password.js";
import { getUser, userView } from "../../accounts/users.js";
import { writeAudit } from "../../audit/index.js";
import { AppError } from "../../core/errors.js";
import { authSessions, users } from "../../db/schema/index.js";
import type { AppDeps } from "../deps.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { principalOf, sessionAuth } from "../middleware/session-auth.js";
import { accountsRouter, err, json, UserSchema } from "./accounts-schemas.js";

const Profile = z
  .object({
    name: z.string().trim().max(200).nullable().optional(),
    locale: z.enum(["ru", "en"]).nullable().optional().openapi({ description: "The user's language (the bot and the web app use it)" }),
  })
  .openapi("ProfileUpdate");

const PasswordChange = z
  .object({ current_password: z.string().max(256).optional().openapi({ description: "Required when the user has a password" }), new_password: z.string().min(1).max(256) })
  .openapi("PasswordChange");

/** The logged-in user's own settings: profile fields and password (a session, not a key). */
export function createAccountSettingsRoutes(deps: AppDeps) {
  const app = accountsRouter();
  app.use("/v1/auth/profile", sessionAuth(deps));
  app.use("/v1/auth/password", sessionAuth(deps));

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/auth/profile",
      tags: ["Auth"],
      summary: "Change the logged-in user's name or language",
      security: [{ bearerAuth: [] }],
      request: { body: { content: { "application/json": { schema: Profile } }, required: true } },
      responses: { 200: json(UserSchema, "The user"), 400: err("Invalid"), 401: err("Not logged in") },
    }),
    async (c) => {
      const p = principalOf(c);
      const body = c.req.valid("json");
      const set: Partial<typeof users.$inferInsert> = {};
      if (body.name !== undefined) set.name = body.name || null;
      if (body.locale !== undefined) set.locale = body.locale;
      if (Object.keys(set).length) await deps.db.update(users).set(set).where(eq(users.id, p.userId!));
      const u = await getUser(deps.db, p.userId!);
      if (!u) throw new AppError("not_found", "User not found");
      return c.json(userView(u), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/password",
      tags: ["Auth"],
      summary: "Change the password; every other session of the user ends",
      security: [{ bearerAuth: [] }],
      request: { body: { content: { "application/json": { schema: PasswordChange } }, required: true } },
      responses: { 200: json(z.object({ ok: z.boolean(), other_sessions_ended: z.number().int() }), "Changed"), 400: err("Weak password"), 401: err("Wrong current password") },
    }),
    async (c) => {
      const p = principalOf(c);
      const body = c.req.valid("json");
      const u = await getUser(deps.db, p.userId!);
      if (!u) throw new AppError("not_found", "User not found");
      if (u.passwordHash && !(await verifyPassword(body.current_password ?? "", u.passwordHash))) {
        throw new AppError("invalid_credentials", "The current password is wrong", { param: "current_password" });
      }
      const problem = passwordProblem(body.new_password);
      if (problem) throw new AppError("invalid_request", problem, { param: "new_password" });
      const hash = await hashPassword(body.new_password);
      const ended = await deps.db.transaction(async (tx) => {
        await tx.update(users).set({ passwordHash: hash }).where(eq(users.id, u.id));
        // A changed password locks out whoever else holds a session; this browser stays logged in.
        const others = await tx
          .update(authSessions)
          .set({ revokedAt: new Date(deps.clock.now()), revokeReason: "password_change" })
          .where(and(eq(authSessions.userId, u.id), ne(authSessions.id, p.sessionId!), isNull(authSessions.revokedAt)))
          .returning({ id: authSessions.id });
        await writeAudit(tx, { actor: p.actor, action: "user.password_change", targetType: "user", targetId: u.id, after: { other_sessions_ended: others.length }, ip: clientIp(c) });
        return others.length;
      });
      return c.json({ ok: true, other_sessions_ended: ended }, 200);
    },
  );
  return app;
}
