import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { writeAudit } from "../../audit/index.js";
import { postLedgerEntry } from "../../billing/ledger.js";
import { AppError } from "../../core/errors.js";
import { newId } from "../../core/ids.js";
import { formatMoney, parseMoney } from "../../core/money.js";
import { accounts } from "../../db/schema/index.js";
import { createApiKey } from "../../keys/index.js";
import type { AppDeps } from "../deps.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

const Money = z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/, "a decimal amount such as \"150.00\"");

const CreateAccount = z
  .object({
    name: z.string().min(1).max(200),
    /** Optional opening balance, credited through the ledger. */
    initial_balance: Money.optional(),
    tariff_id: z.string().optional(),
  })
  .openapi("CreateAccountRequest");

const Account = z
  .object({ id: z.string(), name: z.string(), status: z.string(), balance: z.string(), currency: z.string(), tariff_id: z.string().nullable(), created_at: z.string() })
  .openapi("Account");

const GenerateKey = z
  .object({
    account_id: z.string().min(1),
    name: z.string().max(200).default(""),
    scopes: z.array(z.enum(["inference", "manage"])).optional(),
    allowed_models: z.array(z.string()).nullable().optional(),
    expires_at: z.iso.datetime().nullable().optional(),
    limits: z.record(z.string(), z.unknown()).optional(),
    rate_limits: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .openapi("GenerateKeyRequest");

const GeneratedKey = z
  .object({ id: z.string(), key: z.string(), start: z.string(), account_id: z.string(), name: z.string(), created_at: z.string() })
  .openapi("GeneratedKey");

const adminSecurity = [{ adminToken: [] }];
const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });

/** Seed 000's key generation and the minimal account creation the spine needs. */
export function createAdminSpineRoutes(deps: AppDeps) {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/accounts",
      tags: ["Admin"],
      summary: "Create an account",
      security: adminSecurity,
      request: { body: { content: { "application/json": { schema: CreateAccount } }, required: true } },
      responses: { 201: { content: { "application/json": { schema: Account } }, description: "Created" }, 400: err("Invalid"), 401: err("Not admin") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const actor = c.get("actor");
      const id = newId("account");
      const row = await deps.db.transaction(async (tx) => {
        await tx.insert(accounts).values({ id, name: body.name, tariffId: body.tariff_id ?? null });
        if (body.initial_balance) {
          const amount = parseMoney(body.initial_balance);
          if (amount < 0n) throw new AppError("invalid_request", "initial_balance must not be negative", { param: "initial_balance" });
          if (amount > 0n) await postLedgerEntry(tx, { accountId: id, kind: "adjustment", amountMicros: amount, ref: `open:${id}`, reason: "opening balance", actor });
        }
        const [a] = await tx.select().from(accounts).where(eq(accounts.id, id));
        await writeAudit(tx, { actor, action: "account.create", targetType: "account", targetId: id, after: a });
        return a!;
      });
      return c.json(
        { id: row.id, name: row.name, status: row.status, balance: formatMoney(row.balanceMicros), currency: deps.settings.currency, tariff_id: row.tariffId, created_at: row.createdAt.toISOString() },
        201,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/key/generate",
      tags: ["Admin"],
      summary: "Generate an API key for an account (shown once)",
      security: adminSecurity,
      request: { body: { content: { "application/json": { schema: GenerateKey } }, required: true } },
      responses: { 201: { content: { "application/json": { schema: GeneratedKey } }, description: "Created" }, 400: err("Invalid"), 401: err("Not admin"), 404: err("No such account") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const actor = c.get("actor");
      const created = await deps.db.transaction(async (tx) => {
        const [a] = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, body.account_id));
        if (!a) throw new AppError("not_found", `No account ${body.account_id}`, { param: "account_id" });
        const k = await createApiKey(tx, {
          accountId: body.account_id,
          name: body.name,
          scopes: body.scopes,
          allowedModels: body.allowed_models ?? null,
          expiresAt: body.expires_at ? new Date(body.expires_at) : null,
          limits: body.limits,
          rateLimits: body.rate_limits ?? null,
        });
        await writeAudit(tx, { actor, action: "key.create", targetType: "api_key", targetId: k.id, after: { id: k.id, account_id: k.accountId, name: k.name, start: k.start } });
        return k;
      });
      return c.json({ id: created.id, key: created.key, start: created.start, account_id: created.accountId, name: created.name, created_at: created.createdAt.toISOString() }, 201);
    },
  );
  return app;
}
