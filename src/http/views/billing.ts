/** Request schemas and JSON views of the admin billing routes (tariffs, prices, stats). */
import { z } from "@hono/zod-openapi";
import { type PriceBookRow, type TariffInput, type TariffRow } from "../../billing/admin.js";
import { MARGIN_RULES, type MarginRule } from "../../billing/margin.js";
import { microsPerMToDecimal, parsePositiveMillionths } from "../../billing/pricing.js";
import { QuotaLimitsSchema } from "../../billing/quotas.js";
import { type PlatformFigures } from "../../billing/reports.js";
import { formatMoney, parseMoney } from "../../core/money.js";

export const SignedMoney = z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/, 'a decimal amount such as "150.00"');
export const Decimal6 = z.string().regex(/^\d{1,9}(\.\d{1,6})?$/, 'a non-negative decimal with up to 6 places, e.g. "1.5"');
export const PositiveDecimal = Decimal6.refine((s) => parseMoney(s) > 0n, "must be greater than zero");

export const Limits = QuotaLimitsSchema.superRefine((v, ctx) => {
  for (const k of ["daily_money", "weekly_money", "monthly_money", "total_money"] as const) {
    const x = v[k];
    if (x === undefined || x === null) continue;
    try {
      if (parseMoney(typeof x === "number" ? x.toFixed(6) : x) < 0n) throw new Error();
    } catch {
      ctx.addIssue({ code: "custom", path: [k], message: "must be a non-negative decimal amount" });
    }
  }
}).openapi("QuotaLimits", {
  description:
    "Quota limits: daily_/weekly_/monthly_/total_ × tokens (integers), money (decimal strings in the account currency), requests (integers). Omitted or null = no limit. Windows are calendar day, ISO week (from Monday) and calendar month in BILLING_TIMEZONE. On a key, tariff_id overrides the account's tariff.",
});

export const RateLimits = z
  .object({
    rpm: z.number().int().min(0).optional(),
    tpm: z.number().int().min(0).optional(),
    concurrency: z.number().int().min(0).optional(),
    window_seconds: z.number().int().min(1).optional(),
    account_rpm: z.number().int().min(0).optional(),
    account_tpm: z.number().int().min(0).optional(),
    account_concurrency: z.number().int().min(0).optional(),
  })
  .strict()
  .openapi("TariffRateLimits", {
    description: "Read by the rate limiter: requests/tokens per window and concurrent requests, per key and per account; 0 = no limit",
  });

export const TariffBody = z
  .object({
    name: z.string().min(1).max(100),
    description: z.string().max(2000),
    markup: PositiveDecimal.openapi({ description: "Sale price = upstream cost × USD rate × markup", example: "1.5" }),
    is_default: z.boolean(),
    status: z.enum(["active", "archived"]),
    token_allowance: z
      .number()
      .int()
      .min(0)
      .nullable()
      .openapi({ description: "All-time tokens (a tariff's token allowance), at the scope the tariff is attached to" }),
    limits: Limits,
    key_limits: Limits,
    allowed_models: z.array(z.string().min(1)).nullable().openapi({ description: "Model ids or prefixes ending in *; null = all" }),
    model_markups: z.record(z.string().min(1), PositiveDecimal),
    rate_limits: RateLimits,
    margin_rule: z
      .enum(MARGIN_RULES as [MarginRule, ...MarginRule[]])
      .nullable()
      .openapi({
        description:
          "When the upstream reports a cost above list: charge_reported = max(list, reported) × markup, list_price = keep the list price; null = BILLING_MARGIN_RULE",
      }),
  })
  .partial();
export const CreateTariff = TariffBody.required({ name: true }).openapi("CreateTariff");
export const PatchTariff = TariffBody.openapi("UpdateTariff");

export const Tariff = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    markup: z.string(),
    is_default: z.boolean(),
    status: z.string(),
    token_allowance: z.number().int().nullable(),
    limits: z.record(z.string(), z.unknown()),
    key_limits: z.record(z.string(), z.unknown()),
    allowed_models: z.array(z.string()).nullable(),
    model_markups: z.record(z.string(), z.string()),
    rate_limits: z.record(z.string(), z.unknown()),
    margin_rule: z.string().nullable().openapi({ description: "null = the BILLING_MARGIN_RULE default" }),
    accounts: z.number().int().optional(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Tariff");

export const UsdPerM = z.string().regex(/^\d{1,9}(\.\d{1,6})?$/, "USD per 1M tokens, up to 6 decimals");
export const PriceBody = z
  .object({
    model_id: z.string().min(1).max(300),
    provider_id: z.string().min(1).max(100).default("*").openapi({ description: "`*` = any provider" }),
    input: UsdPerM.openapi({ description: "USD per 1M prompt tokens", example: "0.15" }),
    output: UsdPerM.openapi({ example: "0.6" }),
    cached_input: UsdPerM.nullable().optional(),
    cache_write: UsdPerM.nullable().optional().openapi({ description: "USD per 1M prompt tokens written to the prompt cache" }),
    reasoning: UsdPerM.nullable().optional(),
    markup: PositiveDecimal.nullable().optional().openapi({ description: "Per-model markup for every tariff (a tariff's model_markups wins)" }),
    context_length: z.number().int().positive().nullable().optional(),
    max_output: z.number().int().positive().nullable().optional(),
    name: z.string().max(300).nullable().optional(),
  })
  .openapi("PriceInput");

export const Price = z
  .object({
    model_id: z.string(),
    provider_id: z.string(),
    input: z.string(),
    output: z.string(),
    cached_input: z.string().nullable(),
    cache_write: z.string().nullable(),
    reasoning: z.string().nullable(),
    markup: z.string().nullable(),
    context_length: z.number().int().nullable(),
    max_output: z.number().int().nullable(),
    name: z.string().nullable(),
    source: z.string(),
    updated_at: z.string(),
  })
  .openapi("Price");

export const Stats = z
  .object({
    requests: z.number().int(),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    revenue: z.string(),
    upstream_cost: z.string(),
    profit: z.string(),
  })
  .openapi("PlatformStats");

export const ppmStr = (v: bigint) => formatMoney(v, 1);

export function tariffJson(t: TariffRow & { accounts?: number }) {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    markup: ppmStr(t.markupPpm),
    is_default: t.isDefault,
    status: t.status,
    token_allowance: t.tokenAllowance ?? null,
    limits: t.limits,
    key_limits: t.keyLimits,
    allowed_models: t.allowedModels ?? null,
    model_markups: t.modelMarkups,
    rate_limits: t.rateLimits,
    margin_rule: t.marginRule ?? null,
    ...(t.accounts !== undefined ? { accounts: t.accounts } : {}),
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}

export function tariffInput(b: z.infer<typeof TariffBody>): TariffInput {
  const i: TariffInput = {};
  if (b.name !== undefined) i.name = b.name;
  if (b.description !== undefined) i.description = b.description;
  if (b.markup !== undefined) i.markupPpm = parsePositiveMillionths(b.markup, "markup");
  if (b.is_default !== undefined) i.isDefault = b.is_default;
  if (b.status !== undefined) i.status = b.status;
  if (b.token_allowance !== undefined) i.tokenAllowance = b.token_allowance;
  if (b.limits !== undefined) i.limits = b.limits as Record<string, unknown>;
  if (b.key_limits !== undefined) i.keyLimits = b.key_limits as Record<string, unknown>;
  if (b.allowed_models !== undefined) i.allowedModels = b.allowed_models;
  if (b.model_markups !== undefined) i.modelMarkups = b.model_markups;
  if (b.rate_limits !== undefined) i.rateLimits = b.rate_limits;
  if (b.margin_rule !== undefined) i.marginRule = b.margin_rule;
  return i;
}

export function priceJson(p: PriceBookRow) {
  return {
    model_id: p.modelId,
    provider_id: p.providerId,
    input: microsPerMToDecimal(p.inputMicrosPerM),
    output: microsPerMToDecimal(p.outputMicrosPerM),
    cached_input: p.cachedInputMicrosPerM === null ? null : microsPerMToDecimal(p.cachedInputMicrosPerM),
    cache_write: p.cacheWriteMicrosPerM === null ? null : microsPerMToDecimal(p.cacheWriteMicrosPerM),
    reasoning: p.reasoningMicrosPerM === null ? null : microsPerMToDecimal(p.reasoningMicrosPerM),
    markup: p.markupPpm === null ? null : ppmStr(p.markupPpm),
    context_length: p.contextLength ?? null,
    max_output: p.maxOutput ?? null,
    name: p.name ?? null,
    source: p.source,
    updated_at: p.updatedAt.toISOString(),
  };
}

export function statsJson(f: PlatformFigures) {
  return {
    requests: f.requests,
    prompt_tokens: f.promptTokens,
    completion_tokens: f.completionTokens,
    total_tokens: f.totalTokens,
    revenue: formatMoney(f.costMicros),
    upstream_cost: formatMoney(f.upstreamCostMicros),
    profit: formatMoney(f.profitMicros),
  };
}

export const priceMicros = (s: string) => parseMoney(s);
