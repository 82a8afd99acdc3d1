/** Request schemas of the key routes and the rules of who may set what on a key. */
import { z } from "@hono/zod-openapi";
import { keyPatchProblem, type KeyPatch, type KeyRow, type Scope } from "../../accounts/api-keys.js";
import { mergeLimits, PERIODS, QuotaLimitsSchema } from "../../billing/quotas.js";
import { AppError } from "../../core/errors.js";
import type { Principal } from "../context.js";
import { KeySettings, PageQuery } from "../routes/accounts-schemas.js";

export const CreateKey = z
  .object({ ...KeySettings, account_id: z.string().optional().openapi({ description: "Admins only: the account to create the key in" }) })
  .openapi("CreateApiKeyRequest");
export const UpdateKey = z.object({ ...KeySettings, status: z.enum(["active", "disabled"]).optional() }).openapi("UpdateApiKeyRequest");
export const Rotate = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86400)
      .default(3600)
      .openapi({ description: "How long the old secret keeps working (0 = stops now)" }),
  })
  .openapi("RotateApiKeyRequest");
export const ListQuery = z.object({
  ...PageQuery,
  status: z.enum(["active", "disabled", "revoked"]).optional(),
  q: z.string().max(200).optional(),
  account_id: z.string().max(100).optional().openapi({ description: "Admins only" }),
  include_stats: z.enum(["true", "false"]).optional(),
});

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
    if (!parsed.success)
      throw new AppError("invalid_request", `Invalid limits: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`, {
        param: "limits",
      });
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
