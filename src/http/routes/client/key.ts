import { createRoute, z } from "@hono/zod-openapi";
import { counterId } from "../../../billing/quotas.js";
import { usageSummary } from "../../../billing/reports.js";
import { formatMoney } from "../../../core/money.js";
import { maskKey } from "../../../keys/index.js";
import type { AppDeps } from "../../deps.js";
import { apiKeyAuth } from "../../middleware/api-key-auth.js";
import { sessionAccountAuthenticator } from "../../middleware/browser-session.js";
import { SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { quotaState, ScopeLimits } from "../../views/quota-state.js";
import { amount } from "../../views/usage.js";
import { err, json } from "../accounts-schemas.js";

const LimitsResponse = z
  .object({
    currency: z.string(),
    tariff: z.object({ id: z.string(), name: z.string() }),
    key: ScopeLimits.extend({ key_id: z.string() }),
    account: ScopeLimits.extend({ account_id: z.string() }),
  })
  .openapi("Limits");

const TariffResponse = z
  .object({
    tariff: z.object({
      id: z.string(),
      name: z.string(),
      description: z.string(),
      max_tokens: z.number().int().nullable().openapi({ description: "Token allowance (all-time tokens) that applies to this key, null = none" }),
      markup: z.string(),
      allowed_models: z.array(z.string()).nullable(),
      rate_limits: z.record(z.string(), z.unknown()),
      api_key: z.string(),
    }),
    usage: z.object({ used_tokens: z.number().int(), remaining_tokens: z.number().int().nullable(), usage_percentage: z.number().nullable() }),
  })
  .openapi("TariffInfo");

const Amount = z.number().openapi({ description: "Amount in the account currency (a number, as OpenRouter returns it)", example: 12.5 });

const KeyInfo = z
  .object({
    data: z.object({
      label: z.string(),
      key_id: z.string(),
      limit: Amount.nullable().openapi({ description: "This key's all-time money limit, null = none" }),
      limit_reset: z
        .string()
        .nullable()
        .openapi({ description: "Always null: the all-time limit never resets (daily/weekly/monthly windows are in `limits`)" }),
      limit_remaining: Amount.nullable(),
      usage: Amount.openapi({ description: "All-time spend of this key" }),
      usage_daily: Amount,
      usage_weekly: Amount,
      usage_monthly: Amount,
      is_free_tier: z.boolean(),
      rate_limit: z
        .object({ requests: z.number().int(), interval: z.string() })
        .nullable()
        .openapi({ description: "The key's request rate limit, when it has one" }),
      currency: z.string(),
      limits: ScopeLimits,
      rate_limits: z.record(z.string(), z.unknown()).nullable(),
    }),
  })
  .openapi("KeyInfo");

/** OpenRouter's `rate_limit: {requests, interval}` from the key's (or its tariff's) `rpm`, when it has one. */
function rateLimitOf(r: Record<string, unknown> | null | undefined): { requests: number; interval: string } | null {
  const rpm = r?.rpm;
  return typeof rpm === "number" && Number.isInteger(rpm) && rpm > 0 ? { requests: rpm, interval: "1m" } : null;
}

/** What the calling key may spend: its quota windows, its tariff's allowance, and its OpenRouter-shaped key view. */
export function createClientKeyRoutes(deps: AppDeps) {
  const app = createRouter();
  // The dashboard's session may read /limits; /tariff and /v1/key describe the calling key, so they take a key only.
  app.use("/limits", apiKeyAuth(deps, { alternatives: [sessionAccountAuthenticator(deps)] }));
  const auth = apiKeyAuth(deps);
  for (const p of ["/tariff", "/v1/key"]) app.use(p, auth);
  const svc = () => deps.billing;
  const tz = () => deps.settings.billingTimezone;
  const security = SECURITY.bearer;

  app.openapi(
    createRoute({
      method: "get",
      path: "/limits",
      tags: ["Client"],
      summary: "Quota limits of the calling key and its account, with usage in the current windows",
      security,
      responses: { 200: json(LimitsResponse, "Limits"), 401: err("Missing or invalid API key") },
    }),
    async (c) => {
      const a = c.get("auth");
      const q = await quotaState(deps, svc(), a);
      return c.json(
        {
          currency: deps.settings.currency,
          tariff: { id: q.e.tariff.id, name: q.e.tariff.name },
          key: { key_id: a.keyId, ...q.key },
          account: { account_id: a.accountId, ...q.account },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/tariff",
      tags: ["Client"],
      summary: "The calling key's tariff and its token allowance usage",
      security,
      responses: { 200: json(TariffResponse, "Tariff"), 401: err("Missing or invalid API key") },
    }),
    async (c) => {
      const a = c.get("auth");
      const q = await quotaState(deps, svc(), a);
      const t = q.e.tariff;
      // The allowance that binds this key: its own total-token limit, else its account's.
      const keyTotal = q.e.keyLimits.total.tokens;
      const scope = keyTotal !== null ? counterId("k", a.keyId, "total", q.keys) : counterId("a", a.accountId, "total", q.keys);
      const max = keyTotal ?? q.e.accountLimits.total.tokens;
      const used = q.ctr.get(scope)?.usedTokens ?? 0;
      const secret = /^Bearer\s+(\S+)/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
      return c.json(
        {
          tariff: {
            id: t.id,
            name: t.name,
            description: t.description,
            max_tokens: max === null ? null : Number(max),
            markup: formatMoney(t.markupPpm, 1),
            allowed_models: t.allowedModels,
            rate_limits: t.rateLimits,
            api_key: maskKey(secret),
          },
          usage: {
            used_tokens: used,
            remaining_tokens: max === null ? null : Math.max(0, Number(max) - used),
            usage_percentage: max === null || max === 0n ? null : Math.round((used / Number(max)) * 10_000) / 100,
          },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/key",
      tags: ["Client"],
      summary: "The calling key: its limits and spend (OpenRouter's GET /api/v1/key)",
      security,
      responses: { 200: json(KeyInfo, "Key"), 401: err("Missing or invalid API key") },
    }),
    async (c) => {
      const a = c.get("auth");
      const [q, u] = await Promise.all([
        quotaState(deps, svc(), a),
        usageSummary(deps.db, { accountId: a.accountId, keyId: a.keyId }, new Date(deps.clock.now()), tz()),
      ]);
      const limit = q.e.keyLimits.total.micros;
      const spent = q.ctr.get(counterId("k", a.keyId, "total", q.keys));
      const remaining = limit === null ? null : limit - (spent?.usedMicros ?? 0n) - (spent?.heldMicros ?? 0n);
      const secret = /^Bearer\s+(\S+)/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
      return c.json(
        {
          data: {
            label: maskKey(secret),
            key_id: a.keyId,
            limit: limit === null ? null : amount(limit),
            limit_reset: null,
            limit_remaining: remaining === null ? null : amount(remaining > 0n ? remaining : 0n),
            usage: amount(u.total.costMicros),
            usage_daily: amount(u.today.costMicros),
            usage_weekly: amount(u.week.costMicros),
            usage_monthly: amount(u.month.costMicros),
            is_free_tier: false,
            rate_limit: rateLimitOf(a.keyRateLimits ?? a.tariffRateLimits),
            currency: deps.settings.currency,
            limits: q.key,
            rate_limits: a.keyRateLimits ?? a.tariffRateLimits ?? null,
          },
        },
        200,
      );
    },
  );

  return app;
}
