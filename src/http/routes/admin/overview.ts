import { createRoute, z } from "@hono/zod-openapi";
import { adminOverview, type MoneyFigures } from "../../../billing/overview.js";
import { formatMoney, parseMoney } from "../../../core/money.js";
import { listUpstreamAccounts } from "../../../routing/admin.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { errorResponse as err, json, SECURITY } from "../../openapi.js";

const TAG = ["Admin: console"];
const UsdAmount = z.string().regex(/^\d{1,12}(\.\d{1,6})?$/, 'a decimal USD amount such as "10"');

const Figures = z
  .object({
    requests: z.number().int(),
    failed: z.number().int(),
    error_rate: z.number().openapi({ description: "failed / requests, 0..1" }),
    tokens: z.number().int(),
    revenue: z.string(),
    upstream_cost: z.string(),
    profit: z.string(),
    margin: z.number().nullable().openapi({ description: "profit / revenue, null without revenue" }),
  })
  .openapi("OverviewFigures");

const Anomaly = z
  .object({
    id: z.string(),
    created_at: z.string(),
    account_id: z.string(),
    model: z.string().nullable(),
    provider_id: z.string().nullable(),
    status: z.string(),
    error_code: z.string().nullable(),
    price: z.string().nullable(),
    upstream_cost: z.string().nullable(),
    profit: z.string().nullable(),
    reason: z.enum(["loss", "failed", "unpriced"]),
  })
  .openapi("OverviewAnomaly");

const Overview = z
  .object({
    currency: z.string(),
    timezone: z.string(),
    days: z.number().int(),
    periods: z.object({ today: Figures, d7: Figures, d30: Figures }),
    daily: z.array(Figures.extend({ date: z.string() })),
    by_model: z.array(Figures.extend({ model: z.string() })),
    by_provider: z.array(Figures.extend({ provider_id: z.string() })),
    top_accounts: z.array(Figures.extend({ account_id: z.string(), name: z.string().nullable() })),
    holds: z.object({ open: z.number().int(), amount: z.string(), oldest_at: z.string().nullable(), expired: z.number().int() }),
    low_balance_upstreams: z.array(
      z.object({
        id: z.string(),
        provider_id: z.string(),
        name: z.string(),
        api_key: z.string(),
        balance: z.string().nullable(),
        balance_checked_at: z.string().nullable(),
        enabled: z.boolean(),
      }),
    ),
    low_balance_threshold_usd: z.string(),
    open_circuits: z.number().int(),
    anomalies: z.array(Anomaly),
    anomaly_counts: z.object({ loss: z.number().int(), failed: z.number().int(), unpriced: z.number().int(), estimated: z.number().int() }),
  })
  .openapi("AdminOverview");

function figures(f: MoneyFigures) {
  return {
    requests: f.requests,
    failed: f.failed,
    error_rate: f.requests ? Math.round((f.failed / f.requests) * 10_000) / 10_000 : 0,
    tokens: f.tokens,
    revenue: formatMoney(f.revenueMicros),
    upstream_cost: formatMoney(f.upstreamCostMicros),
    profit: formatMoney(f.profitMicros),
    margin: f.revenueMicros > 0n ? Number((f.profitMicros * 10_000n) / f.revenueMicros) / 10_000 : null,
  };
}

/** The admin panel's overview: money figures per period, day, model, provider and top account; anomalies; low upstream balances. */
export function createAdminOverviewRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.admin;
  const cur = deps.settings.currency;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/overview",
      tags: TAG,
      summary:
        "Revenue, upstream cost, profit and margin (today / 7 / 30 days), per day, model, provider and account; open holds; low upstream balances; anomalous requests",
      security,
      request: {
        query: z.object({
          days: z.coerce.number().int().min(1).max(90).default(30).openapi({ description: "Window of the per-day/model/provider/account parts" }),
          low_balance_usd: UsdAmount.default("10").openapi({ description: "Upstream accounts with a known balance below this are listed" }),
        }),
      },
      responses: { 200: json(Overview, "Overview"), 401: err("Admin authentication required") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const o = await adminOverview(deps.db, { now: new Date(deps.clock.now()), tz: deps.settings.billingTimezone, days: q.days, top: 10 });
      const threshold = parseMoney(q.low_balance_usd);
      const upstreams = (await listUpstreamAccounts(deps.db)).filter((a) => a.balanceMicros !== null && a.balanceMicros < threshold);
      return c.json(
        {
          currency: cur,
          timezone: deps.settings.billingTimezone,
          days: q.days,
          periods: { today: figures(o.periods.today), d7: figures(o.periods.d7), d30: figures(o.periods.d30) },
          daily: o.daily.map((d) => ({ date: d.date, ...figures(d) })),
          by_model: o.byModel.map((d) => ({ model: d.model, ...figures(d) })),
          by_provider: o.byProvider.map((d) => ({ provider_id: d.providerId, ...figures(d) })),
          top_accounts: o.topAccounts.map((d) => ({ account_id: d.accountId, name: d.name, ...figures(d) })),
          holds: { open: o.holds.open, amount: formatMoney(o.holds.amountMicros), oldest_at: o.holds.oldestAt, expired: o.holds.expired },
          low_balance_upstreams: upstreams.map((a) => ({
            id: a.id,
            provider_id: a.providerId,
            name: a.name,
            api_key: a.apiKeyMask,
            balance: a.balanceMicros === null ? null : formatMoney(a.balanceMicros),
            balance_checked_at: a.balanceCheckedAt?.toISOString() ?? null,
            enabled: a.enabled,
          })),
          low_balance_threshold_usd: formatMoney(threshold),
          open_circuits: deps.routing ? deps.routing.circuits().filter((x) => x.state !== "closed").length : 0,
          anomalies: o.anomalies.map((a) => ({
            id: a.id,
            created_at: a.createdAt,
            account_id: a.accountId,
            model: a.model,
            provider_id: a.providerId,
            status: a.status,
            error_code: a.errorCode,
            price: a.priceMicros === null ? null : formatMoney(a.priceMicros),
            upstream_cost: a.upstreamCostMicros === null ? null : formatMoney(a.upstreamCostMicros),
            profit: a.profitMicros === null ? null : formatMoney(a.profitMicros),
            reason: a.reason,
          })),
          anomaly_counts: o.anomalyCounts,
        },
        200,
      );
    },
  );
  return app;
}
