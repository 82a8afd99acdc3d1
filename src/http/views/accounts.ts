/** Request schemas and query parsing of the admin accounts, users and logs routes. */
import { z } from "@hono/zod-openapi";
import { AccountSchema, Money, PageQuery, UserSchema } from "../routes/accounts-schemas.js";

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "id", in: "path" } }),
});
export const DateQ = z.iso.datetime({ offset: true }).optional();

export const AccountPatch = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    status: z.enum(["active", "blocked"]).optional(),
    limits: z.record(z.string(), z.unknown()).optional(),
    low_balance_threshold: Money.nullable().optional(),
  })
  .openapi("AccountPatch");

export const UserPatch = z
  .object({ role: z.enum(["client", "admin"]).optional(), status: z.enum(["active", "blocked"]).optional(), name: z.string().max(200).nullable().optional() })
  .openapi("UserPatch");

export const NewUser = z
  .object({
    account_id: z.string().min(1),
    email: z.string().trim().email().max(254),
    password: z.string().max(256).optional(),
    name: z.string().max(200).optional(),
    role: z.enum(["client", "admin"]).default("client"),
  })
  .openapi("CreateUserRequest");

export const AccountDetail = AccountSchema.extend({ users: z.array(UserSchema) }).openapi("AccountWithUsers");
export const LogSchema = z.record(z.string(), z.unknown()).openapi("RequestLog");
export const AuditSchema = z
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

export const LogQuery = z.object({
  ...PageQuery,
  account_id: z.string().max(100).optional(),
  key_id: z.string().max(100).optional(),
  model: z.string().max(200).optional(),
  status: z.enum(["pending", "completed", "failed", "cancelled"]).optional(),
  provider_id: z.string().max(100).optional(),
  usage_anomaly: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "Only rows whose upstream usage report was corrected before billing (true), or only the others" }),
  from: DateQ,
  to: DateQ,
});

export function date(s: string | undefined): Date | undefined {
  return s ? new Date(s) : undefined;
}

export const CreateAccount = z
  .object({
    name: z.string().min(1).max(200),
    /** Optional opening balance, credited through the ledger. */
    initial_balance: Money.optional(),
    tariff_id: z.string().optional(),
  })
  .openapi("CreateAccountRequest");

export const NewAccountSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.string(),
    balance: z.string(),
    currency: z.string(),
    tariff_id: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Account");

export const GenerateKey = z
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

export const GeneratedKey = z
  .object({ id: z.string(), key: z.string(), start: z.string(), account_id: z.string(), name: z.string(), created_at: z.string() })
  .openapi("GeneratedKey");
