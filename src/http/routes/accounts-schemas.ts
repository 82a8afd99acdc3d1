import { z } from "@hono/zod-openapi";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { validationError } from "../router.js";
import { ErrorResponse } from "../schemas.js";

/** Shared pieces of the accounts-and-access routes (auth, key management, admin). */

export function accountsRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues, result.target);
    },
  });
}

export const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });

export const Money = z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/, 'a decimal amount such as "150.00"');

export const UserSchema = z
  .object({
    id: z.string(),
    account_id: z.string(),
    email: z.string().nullable(),
    name: z.string().nullable(),
    role: z.enum(["client", "admin"]),
    status: z.enum(["active", "blocked"]),
    telegram_id: z.number().nullable(),
    did: z.string().nullable(),
    locale: z.string().nullable(),
    created_at: z.string(),
    last_login_at: z.string().nullable(),
  })
  .openapi("User");

export const AccountSchema = z
  .object({
    id: z.string(),
    object: z.literal("account"),
    name: z.string(),
    status: z.enum(["active", "blocked"]),
    balance: z.string(),
    reserved: z.string(),
    available: z.string(),
    currency: z.string(),
    tariff_id: z.string().nullable(),
    limits: z.record(z.string(), z.unknown()),
    low_balance_threshold: z.string().nullable(),
    referral_code: z.string().nullable(),
    referred_by: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    user_count: z.number().optional(),
    key_count: z.number().optional(),
  })
  .openapi("AccountDetail");

export const SessionSchema = z
  .object({
    token_type: z.enum(["Bearer", "cookie"]),
    access_token: z.string().optional(),
    expires_in: z.number(),
    refresh_token: z.string().optional(),
    refresh_expires_in: z.number(),
    csrf_token: z.string(),
    user: UserSchema,
    account: AccountSchema,
  })
  .openapi("Session");

export const ApiKeySchema = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    account_id: z.string(),
    user_id: z.string().nullable(),
    name: z.string(),
    key: z.string().openapi({ description: "Masked (`sk-gw-AbC1…`); the secret itself only in the create/rotate response" }),
    start: z.string(),
    status: z.enum(["active", "disabled", "revoked"]),
    scopes: z.array(z.string()),
    allowed_models: z.array(z.string()).nullable(),
    ip_allowlist: z.array(z.string()).nullable(),
    limits: z.record(z.string(), z.unknown()),
    rate_limits: z.record(z.string(), z.unknown()).nullable(),
    options: z.record(z.string(), z.unknown()),
    expires_at: z.string().nullable(),
    previous_key_valid_until: z.string().nullable(),
    last_used_at: z.string().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
    usage: z.object({ requests: z.number(), tokens: z.number(), spent: z.string() }).optional(),
  })
  .openapi("ApiKey");

export const NewApiKeySchema = ApiKeySchema.extend({ secret: z.string().openapi({ description: "The full key: shown once" }) }).openapi("NewApiKey");

export const page = <T extends z.ZodType>(item: T, name: string) => z.object({ data: z.array(item), next_cursor: z.string().nullable() }).openapi(name);

export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(200).optional(),
};

/** Key settings a request may set (create or update). */
export const KeySettings = {
  name: z.string().max(200).optional(),
  scopes: z.array(z.enum(["inference", "manage"])).min(1).optional(),
  allowed_models: z.array(z.string().min(1).max(200)).max(500).nullable().optional(),
  ip_allowlist: z.array(z.string().max(64)).max(100).nullable().optional(),
  limits: z.record(z.string(), z.unknown()).optional().openapi({ description: "Quotas (billing's QuotaLimits): daily_/weekly_/monthly_/total_ × tokens, money, requests; windows are the calendar day, ISO week from Monday and calendar month in BILLING_TIMEZONE" }),
  rate_limits: z.record(z.string(), z.unknown()).nullable().optional().openapi({ description: "Admins only" }),
  options: z.record(z.string(), z.unknown()).optional().openapi({ description: "Admins only, e.g. {cache: true}" }),
  expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
};
