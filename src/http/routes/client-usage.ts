import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { effectiveLimits, type BillingService } from "../../billing/service.js";
import { counterId, PERIODS, type Limits, type Period, type WindowLimit } from "../../billing/quotas.js";
import { counterRows, generation, recentRequests, usageByModel, usageDaily, usageSummary, type RequestRow, type UsageFigures } from "../../billing/reports.js";
import { AppError } from "../../core/errors.js";
import { formatMoney } from "../../core/money.js";
import { accounts } from "../../db/schema/index.js";
import { maskKey } from "../../keys/index.js";
import type { AuthContext } from "../../contracts/request.js";
import { RateLimitSection, rateLimitSection } from "../views/rate-limit-section.js";
import type { AppDeps } from "../deps.js";
import { apiKeyAuth } from "../middleware/api-key-auth.js";
import { sessionAccountAuthenticator } from "../middleware/browser-session.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

const Money = z.string().openapi({ description: "Decimal amount in the account currency", example: "123.45" });

const Balance = z
  .object({
    balance: Money,
    currency: z.string().openapi({ example: "RUB" }),
    reserved: Money.openapi({ description: "Held for requests in flight" }),
    available: Money.openapi({ description: "balance − reserved: what new requests can spend" }),
  })
  .openapi("Balance");

const Figures = z
  .object({
    requests: z.number().int(),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    cost: Money,
  })
  .openapi("UsageFigures");

const Usage = z
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

const DailyUsage = z.object({ currency: z.string(), days: z.number().int(), data: z.array(Figures.extend({ date: z.string() })) }).openapi("DailyUsage");
const ModelsUsage = z.object({ currency: z.string(), days: z.number().int(), data: z.array(Figures.extend({ model: z.string() })) }).openapi("ModelsUsage");

const RequestItem = z
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
const RecentRequests = z.object({ data: z.array(RequestItem), next_cursor: z.string().nullable() }).openapi("RecentRequests");

const Gauge = z.object({ limit: z.string().or(z.number()), used: z.string().or(z.number()), reserved: z.string().or(z.number()), remaining: z.string().or(z.number()) }).nullable();
const WindowState = z.object({ window: z.string(), tokens: Gauge, money: Gauge, requests: Gauge }).nullable();
const ScopeLimits = z.object({ daily: WindowState, weekly: WindowState, monthly: WindowState, total: WindowState }).openapi("QuotaState");
const LimitsResponse = z
  .object({ currency: z.string(), tariff: z.object({ id: z.string(), name: z.string() }), key: ScopeLimits.extend({ key_id: z.string() }), account: ScopeLimits.extend({ account_id: z.string() }) })
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

const KeyInfo = z
  .object({
    data: z.object({
      label: z.string(),
      key_id: z.string(),
      limit: Money.nullable().openapi({ description: "This key's all-time money limit, null = none" }),
      limit_remaining: Money.nullable(),
      usage: Money.openapi({ description: "All-time spend of this key" }),
      usage_daily: Money,
      usage_weekly: Money,
      usage_monthly: Money,
      is_free_tier: z.boolean(),
      currency: z.string(),
      limits: ScopeLimits,
      rate_limits: z.record(z.string(), z.unknown()).nullable(),
    }),
  })
  .openapi("KeyInfo");

const Generation = z
  .object({
    data: z.object({
      id: z.string(),
      created_at: z.string(),
      model: z.string().nullable(),
      served_model: z.string().nullable(),
      provider_name: z.string().nullable(),
      streamed: z.boolean(),
      cancelled: z.boolean(),
      status: z.string(),
      tokens_prompt: z.number().int().nullable(),
      tokens_completion: z.number().int().nullable(),
      tokens_cached: z.number().int().nullable(),
      tokens_reasoning: z.number().int().nullable(),
      estimated: z.boolean(),
      total_cost: Money.nullable(),
      currency: z.string(),
      latency: z.number().int().nullable(),
      ttft: z.number().int().nullable(),
      error_code: z.string().nullable(),
      cache_hit: z.boolean(),
    }),
  })
  .openapi("Generation");

const DaysQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30).openapi({ param: { name: "days", in: "query" } }) });
const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20).openapi({ param: { name: "limit", in: "query" } }),
  cursor: z.string().max(500).optional().openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the previous page" }),
});

const security = [{ bearerAuth: [] }];
const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });
const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });

const figuresJson = (f: UsageFigures) => ({
  requests: f.requests,
  prompt_tokens: f.promptTokens,
  completion_tokens: f.completionTokens,
  total_tokens: f.totalTokens,
  cost: formatMoney(f.costMicros),
});

function requestJson(r: RequestRow) {
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

type Counter = Awaited<ReturnType<typeof counterRows>> extends Map<string, infer V> ? V : never;

function gauge(limit: bigint | null, used: bigint, held: bigint, money: boolean) {
  if (limit === null) return null;
  const rem = limit - used - held;
  const f = (v: bigint) => (money ? formatMoney(v) : Number(v));
  return { limit: f(limit), used: f(used), reserved: f(held), remaining: f(rem > 0n ? rem : 0n) };
}

function windowState(w: WindowLimit, id: string, c: Counter | undefined, label: string) {
  if (w.tokens === null && w.micros === null && w.requests === null) return null;
  return {
    window: label,
    tokens: gauge(w.tokens, BigInt(c?.usedTokens ?? 0), BigInt(c?.heldTokens ?? 0), false),
    money: gauge(w.micros, c?.usedMicros ?? 0n, c?.heldMicros ?? 0n, true),
    requests: gauge(w.requests, 0n, BigInt(c?.requests ?? 0), false),
  };
}

async function quotaState(deps: AppDeps, svc: BillingService, auth: AuthContext) {
  const snap = await svc.config.get();
  const e = effectiveLimits(snap, auth);
  const keys = svc.periods.keys(deps.clock.now());
  const label = (p: Period) => (p === "daily" ? keys.day : p === "weekly" ? keys.week : p === "monthly" ? keys.month : "all");
  const ids: string[] = [];
  for (const p of PERIODS) ids.push(counterId("k", auth.keyId, p, keys), counterId("a", auth.accountId, p, keys));
  const ctr = await counterRows(deps.db, ids);
  const scope = (s: "k" | "a", id: string, l: Limits) => ({
    daily: windowState(l.daily, counterId(s, id, "daily", keys), ctr.get(counterId(s, id, "daily", keys)), label("daily")),
    weekly: windowState(l.weekly, counterId(s, id, "weekly", keys), ctr.get(counterId(s, id, "weekly", keys)), label("weekly")),
    monthly: windowState(l.monthly, counterId(s, id, "monthly", keys), ctr.get(counterId(s, id, "monthly", keys)), label("monthly")),
    total: windowState(l.total, counterId(s, id, "total", keys), ctr.get(counterId(s, id, "total", keys)), label("total")),
  });
  return { e, key: scope("k", auth.keyId, e.keyLimits), account: scope("a", auth.accountId, e.accountLimits), ctr, keys };
}

/**
 * Client endpoints (API-key auth; every query is scoped to the key's own account): seed 002's
 * /v1/client/*, seed 001's /usage, /limits and /tariff, OpenRouter's /v1/key and /v1/generation.
 */
export function createClientUsageRoutes(deps: AppDeps) {
  const app = createRouter();
  const auth = apiKeyAuth(deps);
  // The dashboard's session reads the same account views (not /tariff and /v1/key: they describe the calling key).
  const keyOrSession = apiKeyAuth(deps, { alternatives: [sessionAccountAuthenticator(deps)] });
  for (const p of ["/v1/client/*", "/usage", "/limits", "/v1/generation"]) app.use(p, keyOrSession);
  for (const p of ["/tariff", "/v1/key"]) app.use(p, auth);
  const svc = () => deps.billing;
  const tz = () => deps.settings.billingTimezone;

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/balance",
      tags: ["Client"],
      summary: "Account balance, what is held for requests in flight, and what is available",
      security,
      responses: { 200: json(Balance, "Balance"), 401: err("Missing or invalid API key") },
    }),
    async (c) => {
      const a = c.get("auth");
      const row = (await deps.db.select({ b: accounts.balanceMicros, r: accounts.reservedMicros }).from(accounts).where(eq(accounts.id, a.accountId)))[0];
      if (!row) throw new AppError("not_found", "Account not found");
      return c.json({ balance: formatMoney(row.b), currency: deps.settings.currency, reserved: formatMoney(row.r), available: formatMoney(row.b - row.r) }, 200);
    },
  );

  for (const [path, summary] of [
    ["/v1/client/usage", "Account usage today, this month and in total (tokens and money)"],
    ["/usage", "Alias of /v1/client/usage (seed 001)"],
  ] as const) {
    app.openapi(
      createRoute({ method: "get", path, tags: ["Client"], summary, security, responses: { 200: json(Usage, "Usage"), 401: err("Missing or invalid API key") } }),
      async (c) => {
        const a = c.get("auth");
        const [u, snap, rateLimit] = await Promise.all([usageSummary(deps.db, { accountId: a.accountId }, new Date(deps.clock.now()), tz()), svc().config.get(), rateLimitSection(deps, a)]);
        const t = effectiveLimits(snap, a).tariff;
        const figures = { today: figuresJson(u.today), week: figuresJson(u.week), month: figuresJson(u.month), total: figuresJson(u.total) };
        return c.json({ currency: deps.settings.currency, tariff: { id: t.id, name: t.name }, ...figures, rate_limit: rateLimit }, 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/usage/daily",
      tags: ["Client"],
      summary: "Account usage per day (days with activity)",
      security,
      request: { query: DaysQuery },
      responses: { 200: json(DailyUsage, "Per day"), 400: err("Invalid"), 401: err("Missing or invalid API key") },
    }),
    async (c) => {
      const { days } = c.req.valid("query");
      const rows = await usageDaily(deps.db, { accountId: c.get("auth").accountId }, new Date(deps.clock.now()), tz(), days);
      return c.json({ currency: deps.settings.currency, days, data: rows.map((r) => ({ date: r.date, ...figuresJson(r) })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/models/usage",
      tags: ["Client"],
      summary: "Account usage per model over the last days",
      security,
      request: { query: DaysQuery },
      responses: { 200: json(ModelsUsage, "Per model"), 400: err("Invalid"), 401: err("Missing or invalid API key") },
    }),
    async (c) => {
      const { days } = c.req.valid("query");
      const rows = await usageByModel(deps.db, { accountId: c.get("auth").accountId }, new Date(deps.clock.now()), tz(), days);
      return c.json({ currency: deps.settings.currency, days, data: rows.map((r) => ({ model: r.model, ...figuresJson(r) })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/recent-requests",
      tags: ["Client"],
      summary: "The account's requests, newest first (keyset pagination)",
      security,
      request: { query: PageQuery },
      responses: { 200: json(RecentRequests, "A page"), 400: err("Invalid"), 401: err("Missing or invalid API key") },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const page = await recentRequests(deps.db, { accountId: c.get("auth").accountId }, limit, cursor ?? null);
      return c.json({ data: page.rows.map(requestJson), next_cursor: page.next }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/limits",
      tags: ["Client"],
      summary: "Quota limits of the calling key and its account, with usage in the current windows (seed 001)",
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
      summary: "The calling key's tariff and its token allowance usage (seed 001)",
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
      const [q, u] = await Promise.all([quotaState(deps, svc(), a), usageSummary(deps.db, { accountId: a.accountId, keyId: a.keyId }, new Date(deps.clock.now()), tz())]);
      const limit = q.e.keyLimits.total.micros;
      const spent = q.ctr.get(counterId("k", a.keyId, "total", q.keys));
      const remaining = limit === null ? null : limit - (spent?.usedMicros ?? 0n) - (spent?.heldMicros ?? 0n);
      const secret = /^Bearer\s+(\S+)/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
      return c.json(
        {
          data: {
            label: maskKey(secret),
            key_id: a.keyId,
            limit: limit === null ? null : formatMoney(limit),
            limit_remaining: remaining === null ? null : formatMoney(remaining > 0n ? remaining : 0n),
            usage: formatMoney(u.total.costMicros),
            usage_daily: formatMoney(u.today.costMicros),
            usage_weekly: formatMoney(u.week.costMicros),
            usage_monthly: formatMoney(u.month.costMicros),
            is_free_tier: false,
            currency: deps.settings.currency,
            limits: q.key,
            rate_limits: a.keyRateLimits ?? a.tariffRateLimits ?? null,
          },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/generation",
      tags: ["Client"],
      summary: "One request of the calling account: tokens, cost, provider, latency (OpenRouter's GET /api/v1/generation)",
      security,
      request: { query: z.object({ id: z.string().min(1).max(200).openapi({ param: { name: "id", in: "query" }, example: "req_0123abcd" }) }) },
      responses: { 200: json(Generation, "The request"), 401: err("Missing or invalid API key"), 404: err("No such request in this account") },
    }),
    async (c) => {
      const { id } = c.req.valid("query");
      const g = await generation(deps.db, c.get("auth").accountId, id);
      if (!g) throw new AppError("not_found", `No request ${id}`, { param: "id" });
      return c.json(
        {
          data: {
            id: g.id,
            created_at: g.createdAt,
            model: g.model,
            served_model: g.servedModel,
            provider_name: g.providerId,
            streamed: g.stream,
            cancelled: g.status === "cancelled",
            status: g.status,
            tokens_prompt: g.promptTokens,
            tokens_completion: g.completionTokens,
            tokens_cached: g.cachedTokens,
            tokens_reasoning: g.reasoningTokens,
            estimated: g.estimated,
            total_cost: g.costMicros === null ? null : formatMoney(g.costMicros),
            currency: deps.settings.currency,
            latency: g.latencyMs,
            ttft: g.ttftMs,
            error_code: g.errorCode,
            cache_hit: g.cacheHit,
          },
        },
        200,
      );
    },
  );

  return app;
}
