import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { logView } from "../../accounts/admin.js";
import { writeAudit } from "../../audit/index.js";
import { adminOverview, type MoneyFigures } from "../../billing/overview.js";
import { priceTable } from "../../billing/price-table.js";
import { AppError } from "../../core/errors.js";
import { formatMoney, parseMoney } from "../../core/money.js";
import { accounts, requestLogs } from "../../db/schema/index.js";
import { listCommissions } from "../../payments/commissions.js";
import { UpstreamClient } from "../../proxy/upstream.js";
import { listUpstreamAccounts } from "../../routing/admin.js";
import { testUpstream } from "../../proxy/upstream-test.js";
import type { AppDeps } from "../deps.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

/**
 * Read models and actions the admin panel needs beyond the per-area admin APIs: the overview,
 * the price table, referral commissions, one request-log row, and "test this upstream". Mounted
 * under /admin, behind the app's admin middleware (ADMIN_TOKEN or an admin's session).
 */

const security = [{ adminToken: [] }];
const TAG = ["Admin: console"];
const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });
const json = <T extends z.ZodType>(schema: T, d: string) => ({ content: { "application/json": { schema } }, description: d });
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
      z.object({ id: z.string(), provider_id: z.string(), name: z.string(), api_key: z.string(), balance: z.string().nullable(), balance_checked_at: z.string().nullable(), enabled: z.boolean() }),
    ),
    low_balance_threshold_usd: z.string(),
    open_circuits: z.number().int(),
    anomalies: z.array(Anomaly),
    anomaly_counts: z.object({ loss: z.number().int(), failed: z.number().int(), unpriced: z.number().int(), estimated: z.number().int() }),
  })
  .openapi("AdminOverview");

const PriceTableRow = z
  .object({
    model_id: z.string(),
    provider_id: z.string(),
    source: z.enum(["book", "config"]),
    book_source: z.enum(["admin", "sync"]).nullable(),
    upstream_usd: z.object({ input: z.string(), output: z.string(), cached_input: z.string().nullable(), cache_write: z.string().nullable(), reasoning: z.string().nullable() }).openapi({ description: "USD per 1M tokens (list price)" }),
    markup: z.string(),
    upstream_cost: z.object({ input: z.string(), output: z.string() }).openapi({ description: "Account currency per 1M tokens at the FX rate in force" }),
    customer_price: z.object({ input: z.string(), output: z.string() }).openapi({ description: "Account currency per 1M tokens: what the tariff's customers pay" }),
  })
  .openapi("PriceTableRow");

const Commission = z
  .object({
    id: z.string(),
    kind: z.enum(["referral_bonus", "referral_reversal"]),
    inviter_account_id: z.string(),
    inviter_name: z.string().nullable(),
    invitee_account_id: z.string().nullable(),
    payment_id: z.string().nullable(),
    amount: z.string(),
    created_at: z.string(),
  })
  .openapi("ReferralCommission");

const UpstreamTest = z
  .object({
    ok: z.boolean(),
    provider_id: z.string(),
    upstream_account_id: z.string().nullable(),
    upstream_model: z.string(),
    status: z.number().int().nullable(),
    latency_ms: z.number().int(),
    error: z.string().nullable(),
    reply: z.string().nullable(),
    usage: z.object({ prompt_tokens: z.number().nullable(), completion_tokens: z.number().nullable() }).nullable(),
  })
  .openapi("UpstreamTestResult");

const usdMicrosPerM = (v: bigint) => formatMoney(v);

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

export function createAdminConsoleRoutes(deps: AppDeps) {
  const app = createRouter();
  const cur = deps.settings.currency;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/overview",
      tags: TAG,
      summary: "Revenue, upstream cost, profit and margin (today / 7 / 30 days), per day, model, provider and account; open holds; low upstream balances; anomalous requests",
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

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/price-table",
      tags: TAG,
      summary: "Upstream list price, markup and customer price side by side, for one tariff (default: the default tariff)",
      security,
      request: { query: z.object({ tariff_id: z.string().max(100).optional(), model: z.string().max(300).optional().openapi({ description: "substring of the model id" }) }) },
      responses: {
        200: json(z.object({ currency: z.string(), fx_rate: z.string(), tariff: z.object({ id: z.string(), name: z.string(), markup: z.string() }), data: z.array(PriceTableRow) }), "Price table"),
        404: err("No such tariff"),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const svc = deps.billing;
      await svc.ready();
      const snap = await svc.config.get();
      const tariff = q.tariff_id ? snap.tariffs.get(q.tariff_id) : snap.defaultTariff;
      if (!tariff) throw new AppError("not_found", `No tariff ${q.tariff_id}`, { param: "tariff_id" });
      const rows = priceTable(snap, tariff, deps.catalog.models(), q.model);
      return c.json(
        {
          currency: cur,
          fx_rate: formatMoney(snap.rateMicros),
          tariff: { id: tariff.id, name: tariff.name, markup: formatMoney(tariff.markupPpm, 1) },
          data: rows.map((r) => ({
            model_id: r.modelId,
            provider_id: r.providerId,
            source: r.source,
            book_source: r.bookSource,
            upstream_usd: {
              input: usdMicrosPerM(r.usd.input),
              output: usdMicrosPerM(r.usd.output),
              cached_input: r.usd.cachedInput === null ? null : usdMicrosPerM(r.usd.cachedInput),
              cache_write: r.usd.cacheWrite == null ? null : usdMicrosPerM(r.usd.cacheWrite),
              reasoning: r.usd.reasoning === null ? null : usdMicrosPerM(r.usd.reasoning),
            },
            markup: formatMoney(r.markupPpm, 1),
            upstream_cost: { input: formatMoney(r.costPerM.input), output: formatMoney(r.costPerM.output) },
            customer_price: { input: formatMoney(r.pricePerM.input), output: formatMoney(r.pricePerM.output) },
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/referral-commissions",
      tags: TAG,
      summary: "Referral commissions and their reversals (from the ledger), newest first",
      security,
      request: {
        query: z.object({
          account_id: z.string().max(100).optional().openapi({ description: "The inviter" }),
          before: z.iso.datetime({ offset: true }).optional().openapi({ description: "Page: rows created before this instant (the last row's created_at)" }),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      responses: { 200: json(z.object({ currency: z.string(), data: z.array(Commission) }), "Commissions") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const rows = await listCommissions(deps.db, { accountId: q.account_id, before: q.before ? new Date(q.before) : undefined, limit: q.limit });
      return c.json(
        {
          currency: cur,
          data: rows.map((r) => ({
            id: r.id,
            kind: r.kind,
            inviter_account_id: r.inviterAccountId,
            inviter_name: r.inviterName,
            invitee_account_id: r.inviteeAccountId,
            payment_id: r.paymentId,
            amount: formatMoney(r.amountMicros),
            created_at: r.createdAt,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/logs/{id}",
      tags: ["Admin: logs"],
      summary: "One request-log row with its account and routing details (tries, skipped upstreams)",
      security,
      request: { params: z.object({ id: z.string().min(1).max(100) }) },
      responses: { 200: json(z.record(z.string(), z.unknown()).openapi("RequestLogDetail"), "The request"), 404: err("Not found") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const rows = await deps.db
        .select({ log: requestLogs, accountName: accounts.name })
        .from(requestLogs)
        .leftJoin(accounts, eq(accounts.id, requestLogs.accountId))
        .where(eq(requestLogs.id, id))
        .limit(1);
      const r = rows[0];
      if (!r) throw new AppError("not_found", `No request ${id}`);
      return c.json({ ...logView(r.log), account_name: r.accountName ?? null, meta: r.log.meta ?? null, currency: cur }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/routing/upstream-test",
      tags: ["Admin: routing"],
      summary: "Test this upstream: one tiny chat request (max_tokens 1) to a provider, optionally with one upstream account's key",
      description: "No routing, fallback, billing or circuit-breaker bookkeeping; audited as `routing.upstream.test`. Without `model`, the provider's first configured route's model is used.",
      security,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z
                .object({ provider_id: z.string().min(1).max(100), upstream_account_id: z.string().min(1).max(200).optional(), model: z.string().min(1).max(300).optional() })
                .openapi("UpstreamTestRequest"),
            },
          },
          required: true,
        },
      },
      responses: { 200: json(UpstreamTest, "The result (ok or not)"), 400: err("No model to test with"), 404: err("Unknown provider or upstream account") },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const target = deps.providers.get(b.provider_id);
      if (!target) throw new AppError("not_found", `No provider ${b.provider_id}`, { param: "provider_id" });
      let account = null;
      if (b.upstream_account_id) {
        account = deps.routing?.snapshot().accountsByProvider.get(b.provider_id)?.find((a) => a.id === b.upstream_account_id) ?? null;
        if (!account) throw new AppError("not_found", `No enabled upstream account ${b.upstream_account_id} with a usable key on ${b.provider_id}`, { param: "upstream_account_id" });
      }
      let model = b.model;
      if (!model) {
        for (const m of deps.catalog.models()) {
          const r = m.routes.find((x) => x.providerId === b.provider_id);
          if (r) {
            model = r.upstreamModel;
            break;
          }
        }
      }
      if (!model) throw new AppError("invalid_request", "This provider has no configured route: name a `model` to test with", { param: "model" });
      // A client of its own, closed at once: a test must not leave keep-alive sockets behind.
      const client = new UpstreamClient();
      const result = await testUpstream({ client, target, account, model, now: () => deps.clock.now() }).finally(() => client.close());
      await writeAudit(deps.db, {
        actor: c.get("actor"),
        action: "routing.upstream.test",
        targetType: account ? "upstream_account" : "provider",
        targetId: account?.id ?? target.id,
        after: { ok: result.ok, status: result.status, upstream_model: result.upstream_model, latency_ms: result.latency_ms },
        ip: clientIp(c),
      });
      return c.json(result, 200);
    },
  );

  return app;
}
