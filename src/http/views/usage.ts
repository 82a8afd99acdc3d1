import { z } from "@hono/zod-openapi";
import type { RequestRow, UsageFigures } from "../../billing/reports.js";
import { formatMoney } from "../../core/money.js";
import { RateLimitSection } from "./rate-limit-section.js";

/** The client's usage views: balance, usage figures per period, day and model, and request summaries. */

/** Micros as a JSON number in currency units (OpenRouter-shaped views); exact for any balance below 2^53 micros. */
export const amount = (micros: bigint): number => Number(formatMoney(micros));

export const Money = z.string().openapi({ description: "Decimal amount in the account currency", example: "123.45" });

export const Balance = z
  .object({
    balance: Money,
    currency: z.string().openapi({ example: "RUB" }),
    reserved: Money.openapi({ description: "Held for requests in flight" }),
    available: Money.openapi({ description: "balance − reserved: what new requests can spend" }),
  })
  .openapi("Balance");

export const Figures = z
  .object({
    requests: z.number().int(),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    cost: Money,
  })
  .openapi("UsageFigures");

export const Usage = z
  .object({
    currency: z.string(),
    tariff: z.object({ id: z.string(), name: z.string() }),
    today: Figures,
    week: Figures,
    month: Figures,
    total: Figures,
    rate_limit: RateLimitSection,
  })
  .openapi("Usage");

export const DailyUsage = z.object({ currency: z.string(), days: z.number().int(), data: z.array(Figures.extend({ date: z.string() })) }).openapi("DailyUsage");
export const ModelsUsage = z
  .object({ currency: z.string(), days: z.number().int(), data: z.array(Figures.extend({ model: z.string() })) })
  .openapi("ModelsUsage");

export const RequestItem = z
  .object({
    id: z.string(),
    created_at: z.string(),
    key_id: z.string().nullable(),
    model: z.string().nullable(),
    served_model: z.string().nullable(),
    provider: z.string().nullable(),
    endpoint: z.string(),
    stream: z.boolean(),
    status: z.string(),
    prompt_tokens: z.number().int().nullable(),
    completion_tokens: z.number().int().nullable(),
    total_tokens: z.number().int().nullable(),
    estimated: z.boolean(),
    cost: Money.nullable(),
    latency_ms: z.number().int().nullable(),
    error_code: z.string().nullable(),
  })
  .openapi("RequestSummary");
export const RecentRequests = z.object({ data: z.array(RequestItem), next_cursor: z.string().nullable() }).openapi("RecentRequests");

export const figuresJson = (f: UsageFigures) => ({
  requests: f.requests,
  prompt_tokens: f.promptTokens,
  completion_tokens: f.completionTokens,
  total_tokens: f.totalTokens,
  cost: formatMoney(f.costMicros),
});

export function requestJson(r: RequestRow) {
  return {
    id: r.id,
    created_at: r.createdAt,
    key_id: r.keyId,
    model: r.model,
    served_model: r.servedModel,
    provider: r.providerId,
    endpoint: r.endpoint,
    stream: r.stream,
    status: r.status,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.totalTokens,
    estimated: r.estimated,
    cost: r.costMicros === null ? null : formatMoney(r.costMicros),
    latency_ms: r.latencyMs,
    error_code: r.errorCode,
  };
}
