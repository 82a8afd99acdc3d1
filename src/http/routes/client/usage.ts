import { createRoute, z } from "@hono/zod-openapi";
import { customerBalance } from "../../../billing/customer-balance.js";
import { effectiveLimits } from "../../../billing/service.js";
import { recentRequests, usageByModel, usageDaily, usageSummary } from "../../../billing/reports.js";
import { AppError } from "../../../core/errors.js";
import { formatMoney } from "../../../core/money.js";
import { rateLimitSection } from "../../views/rate-limit-section.js";
import type { AppDeps } from "../../deps.js";
import { apiKeyAuth } from "../../middleware/api-key-auth.js";
import { sessionAccountAuthenticator } from "../../middleware/browser-session.js";
import { SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { Balance, DailyUsage, figuresJson, ModelsUsage, RecentRequests, requestJson, Usage } from "../../views/usage.js";
import { err, json } from "../accounts-schemas.js";

const DaysQuery = z.object({
  days: z.coerce
    .number()
    .int()
    .min(1)
    .max(366)
    .default(30)
    .openapi({ param: { name: "days", in: "query" } }),
});
const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(500)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the previous page" }),
});

/**
 * The account's balance and usage (API key or dashboard session; every query is scoped to the
 * caller's own account): /v1/client/* and its /usage alias.
 */
export function createClientUsageRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.bearer;
  // The dashboard's session reads the same account views (not /tariff and /v1/key: they describe the calling key).
  const keyOrSession = apiKeyAuth(deps, { alternatives: [sessionAccountAuthenticator(deps)] });
  for (const p of ["/v1/client/*", "/usage"]) app.use(p, keyOrSession);
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
      const row = await customerBalance(deps.db, a.accountId);
      if (!row) throw new AppError("not_found", "Account not found");
      return c.json(
        {
          balance: formatMoney(row.balanceMicros),
          currency: deps.settings.currency,
          reserved: formatMoney(row.reservedMicros),
          available: formatMoney(row.availableMicros),
        },
        200,
      );
    },
  );

  for (const [path, summary] of [
    ["/v1/client/usage", "Account usage today, this month and in total (tokens and money)"],
    ["/usage", "Alias of /v1/client/usage"],
  ] as const) {
    app.openapi(
      createRoute({
        method: "get",
        path,
        tags: ["Client"],
        summary,
        security,
        responses: { 200: json(Usage, "Usage"), 401: err("Missing or invalid API key") },
      }),
      async (c) => {
        const a = c.get("auth");
        const [u, snap, rateLimit] = await Promise.all([
          usageSummary(deps.db, { accountId: a.accountId }, new Date(deps.clock.now()), tz()),
          deps.billing.config.get(),
          rateLimitSection(deps, a),
        ]);
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
  return app;
}
