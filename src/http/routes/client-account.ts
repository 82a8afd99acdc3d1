import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { listRequestLogs, logView, type LogQuery } from "../../accounts/admin.js";
import { getKey } from "../../accounts/api-keys.js";
import { ledgerHistory } from "../../billing/ledger-history.js";
import { priceTable } from "../../billing/price-table.js";
import { effectiveLimits, modelAllowed } from "../../billing/prepare.js";
import { AppError } from "../../core/errors.js";
import { formatMoney } from "../../core/money.js";
import { orderHistory } from "../../payments/order-history.js";
import { referralStats } from "../../payments/referrals.js";
import { invitees } from "../../payments/referral-history.js";
import { formatKopecks } from "../../payments/rub.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { apiKeyAuth } from "../middleware/api-key-auth.js";
import { sessionAccountAuthenticator } from "../middleware/browser-session.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";
import { WEB_APP_BASE } from "./web-app.js";

/**
 * The customer's own account pages' data (API key or dashboard session; always the caller's own
 * account): the request log with filters and CSV, customer prices, the ledger, top-up orders and
 * referrals. Upstream cost and profit never appear here.
 */

const Money = z.string().openapi({ description: "Decimal amount in the account currency", example: "12.50" });
const security = [{ bearerAuth: [] }];
const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });
const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const Page = {
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ param: { name: "limit", in: "query" } }),
  cursor: z.string().max(300).optional().openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the previous page" }),
};

const RequestFilters = z.object({
  key_id: z.string().max(100).optional().openapi({ param: { name: "key_id", in: "query" } }),
  model: z.string().max(300).optional().openapi({ param: { name: "model", in: "query" }, description: "Requested or served model id" }),
  status: z.enum(["pending", "completed", "failed", "cancelled"]).optional().openapi({ param: { name: "status", in: "query" } }),
  from: z.iso.datetime({ offset: true }).optional().openapi({ param: { name: "from", in: "query" }, description: "Inclusive" }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ param: { name: "to", in: "query" }, description: "Exclusive" }),
});

const CustomerRequest = z
  .object({
    id: z.string(),
    created_at: z.string(),
    completed_at: z.string().nullable(),
    api_key_id: z.string().nullable(),
    endpoint: z.string(),
    model: z.string().nullable(),
    served_model: z.string().nullable(),
    provider_id: z.string().nullable(),
    stream: z.boolean(),
    status: z.string(),
    prompt_tokens: z.number().int().nullable(),
    completion_tokens: z.number().int().nullable(),
    cached_tokens: z.number().int().nullable(),
    reasoning_tokens: z.number().int().nullable(),
    total_tokens: z.number().int().nullable(),
    estimated: z.boolean(),
    latency_ms: z.number().int().nullable(),
    ttft_ms: z.number().int().nullable(),
    error_code: z.string().nullable(),
    cost: Money.nullable(),
    cache_hit: z.boolean(),
  })
  .openapi("CustomerRequest");

type LogRow = ReturnType<typeof logView>;
/** The customer's view of a log row: what the request cost them, not what it cost the gateway. */
function customerRequest(r: LogRow): z.infer<typeof CustomerRequest> {
  return {
    id: r.id,
    created_at: r.created_at,
    completed_at: r.completed_at,
    api_key_id: r.api_key_id,
    endpoint: r.endpoint,
    model: r.model,
    served_model: r.served_model,
    provider_id: r.provider_id,
    stream: r.stream,
    status: r.status,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    cached_tokens: r.cached_tokens,
    reasoning_tokens: r.reasoning_tokens,
    total_tokens: r.total_tokens,
    estimated: r.estimated,
    latency_ms: r.latency_ms,
    ttft_ms: r.ttft_ms,
    error_code: r.error_code,
    cost: r.cost,
    cache_hit: r.cache_hit,
  };
}

const CSV_COLUMNS = ["id", "created_at", "api_key_id", "model", "served_model", "provider_id", "status", "stream", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "total_tokens", "estimated", "cost", "latency_ms", "ttft_ms", "error_code"] as const;
/** At most this many rows per export: a bigger range is split by dates. */
export const CSV_MAX_ROWS = 50_000;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  // Quote when needed; a leading =+-@ would be a formula in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const PriceItem = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    type: z.enum(["chat", "embedding"]).openapi({ description: "What the model is called through: chat/completions or embeddings" }),
    input_modalities: z.array(z.string()),
    output_modalities: z.array(z.string()),
    context_length: z.number().int().nullable(),
    max_output: z.number().int().nullable(),
    input_per_1m: Money.nullable().openapi({ description: "What the account pays per 1M input tokens (tariff markup applied); null = not priced" }),
    output_per_1m: Money.nullable(),
  })
  .openapi("CustomerPrice");

const LedgerItem = z
  .object({ id: z.string(), kind: z.string(), amount: Money, balance_after: Money, reason: z.string().nullable(), ref: z.string(), created_at: z.string() })
  .openapi("LedgerEntry");

const OrderItem = z
  .object({
    id: z.string(),
    provider: z.string(),
    status: z.string(),
    amount: z.string().openapi({ description: "Rubles for RUB, whole Stars for XTR" }),
    currency: z.string(),
    credits: Money,
    created_at: z.string(),
    paid_at: z.string().nullable(),
  })
  .openapi("PaymentOrderItem");

const Referrals = z
  .object({
    code: z.string(),
    web_link: z.string().openapi({ description: "Sign-up link with the code (relative when PUBLIC_URL is unset)" }),
    bot_link: z.string().nullable(),
    percent: z.string().openapi({ description: "Commission on each payment of an invitee", example: "10" }),
    invitees: z.number().int(),
    earned: Money,
    currency: z.string(),
    invited: z.array(z.object({ account_id: z.string(), label: z.string(), joined_at: z.string(), earned: Money })),
    commissions: z.array(LedgerItem),
  })
  .openapi("Referrals");

const modelType = (id: string) => (/embed/i.test(id) ? ("embedding" as const) : ("chat" as const));

export function createClientAccountRoutes(deps: AppDeps) {
  const app = createRouter();
  const auth = apiKeyAuth(deps, { alternatives: [sessionAccountAuthenticator(deps)] });
  // /v1/client/* may already be authenticated by the usage routes' middleware: verify once.
  const once = async (c: Context<AppEnv>, next: () => Promise<void>) => (c.get("auth") ? next() : auth(c, next));
  for (const p of ["/v1/client/requests", "/v1/client/requests.csv", "/v1/client/prices", "/v1/client/ledger", "/v1/client/payments", "/v1/client/referrals"]) app.use(p, once);
  const cur = deps.settings.currency;

  async function logQuery(c: Context<AppEnv>, f: z.infer<typeof RequestFilters>): Promise<LogQuery> {
    const accountId = c.get("auth").accountId;
    // Another account's key id answers as an unknown one (404), never as an empty page that confirms it exists.
    if (f.key_id && !(await getKey(deps.db, { accountId, actor: "client" }, f.key_id))) throw new AppError("not_found", "No such API key", { param: "key_id" });
    const from = f.from ? new Date(f.from) : undefined;
    const to = f.to ? new Date(f.to) : undefined;
    if (from && to && from >= to) throw new AppError("invalid_request", "`from` must be before `to`", { param: "from" });
    return { accountId, keyId: f.key_id, model: f.model, status: f.status, from, to };
  }

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/requests",
      tags: ["Client"],
      summary: "The account's request log with filters (key, model, status, date range), newest first",
      security,
      request: { query: RequestFilters.extend(Page) },
      responses: { 200: json(z.object({ data: z.array(CustomerRequest), next_cursor: z.string().nullable() }).openapi("CustomerRequests"), "A page"), 400: err("Invalid filter"), 401: err("Not authenticated"), 404: err("Unknown key_id") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await listRequestLogs(deps.db, { ...(await logQuery(c, q)), limit: q.limit, cursor: q.cursor });
      return c.json({ data: page.data.map(customerRequest), next_cursor: page.next_cursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/requests.csv",
      tags: ["Client"],
      summary: `The filtered request log as CSV (at most ${CSV_MAX_ROWS} rows, newest first)`,
      security,
      request: { query: RequestFilters },
      responses: { 200: { content: { "text/csv": { schema: z.string() } }, description: "CSV with a header row" }, 400: err("Invalid filter"), 401: err("Not authenticated") },
    }),
    async (c) => {
      const base = await logQuery(c, c.req.valid("query"));
      const lines = [CSV_COLUMNS.join(",")];
      let cursor: string | undefined;
      let n = 0;
      do {
        const page = await listRequestLogs(deps.db, { ...base, limit: 1000, cursor });
        for (const r of page.data.map(customerRequest)) {
          if (n++ >= CSV_MAX_ROWS) break;
          lines.push(CSV_COLUMNS.map((k) => csvCell(r[k])).join(","));
        }
        cursor = page.next_cursor ?? undefined;
      } while (cursor && n < CSV_MAX_ROWS);
      const stamp = new Date(deps.clock.now()).toISOString().slice(0, 10);
      return c.body(lines.join("\r\n") + "\r\n", 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="requests-${stamp}.csv"` });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/prices",
      tags: ["Client"],
      summary: "Models as this account pays for them: price per 1M tokens in the account currency with the tariff's markup",
      description: "When a model has several priced routes the highest price is shown: a request is never charged more than that.",
      security,
      request: { query: z.object({ q: z.string().max(200).optional().openapi({ param: { name: "q", in: "query" }, description: "Substring of the model id" }) }) },
      responses: { 200: json(z.object({ currency: z.string(), tariff: z.object({ id: z.string(), name: z.string() }), data: z.array(PriceItem) }).openapi("CustomerPrices"), "Prices"), 401: err("Not authenticated") },
    }),
    async (c) => {
      const svc = deps.billing;
      const snap = await svc.config.get();
      const tariff = effectiveLimits(snap, c.get("auth")).tariff;
      const models = deps.catalog.models();
      const rows = priceTable(snap, tariff, models);
      const byModel = new Map<string, { input: bigint; output: bigint }>();
      for (const r of rows) {
        const p = byModel.get(r.modelId);
        byModel.set(r.modelId, p ? { input: p.input > r.pricePerM.input ? p.input : r.pricePerM.input, output: p.output > r.pricePerM.output ? p.output : r.pricePerM.output } : r.pricePerM);
      }
      const meta = new Map<string, { name: string | null; contextLength: number | null; maxOutput: number | null }>();
      for (const m of models) meta.set(m.id, { name: m.name, contextLength: m.contextLength, maxOutput: m.maxOutput });
      for (const p of snap.prices.values()) if (!meta.has(p.modelId)) meta.set(p.modelId, { name: p.name, contextLength: p.contextLength, maxOutput: p.maxOutput });
      const f = c.req.valid("query").q?.toLowerCase();
      const data = [...meta.entries()]
        .filter(([id]) => modelAllowed(tariff.allowedModels, id) && (!f || id.toLowerCase().includes(f)))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([id, m]) => {
          const price = byModel.get(id);
          const type = modelType(id);
          return {
            id,
            name: m.name,
            type,
            input_modalities: ["text"],
            output_modalities: type === "embedding" ? ["embedding"] : ["text"],
            context_length: m.contextLength,
            max_output: type === "embedding" ? null : m.maxOutput,
            input_per_1m: price ? formatMoney(price.input) : null,
            output_per_1m: price ? formatMoney(price.output) : null,
          };
        });
      return c.json({ currency: cur, tariff: { id: tariff.id, name: tariff.name }, data }, 200);
    },
  );

  const ledgerJson = (r: Awaited<ReturnType<typeof ledgerHistory>>["rows"][number]) => ({
    id: r.id,
    kind: r.kind,
    amount: formatMoney(r.amountMicros),
    balance_after: formatMoney(r.balanceAfterMicros),
    reason: r.reason,
    ref: r.ref,
    created_at: r.createdAt.toISOString(),
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/ledger",
      tags: ["Client"],
      summary: "Every balance change of the account with its reason, newest first",
      security,
      request: { query: z.object(Page) },
      responses: { 200: json(z.object({ currency: z.string(), data: z.array(LedgerItem), next_cursor: z.string().nullable() }).openapi("Ledger"), "A page"), 401: err("Not authenticated") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await ledgerHistory(deps.db, c.get("auth").accountId, { limit: q.limit, cursor: q.cursor });
      return c.json({ currency: cur, data: page.rows.map(ledgerJson), next_cursor: page.next }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/payments",
      tags: ["Client"],
      summary: "The account's top-up orders (YooKassa, Telegram Stars) with their statuses, newest first",
      security,
      request: { query: z.object(Page) },
      responses: { 200: json(z.object({ data: z.array(OrderItem), next_cursor: z.string().nullable() }).openapi("PaymentOrders"), "A page"), 401: err("Not authenticated") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await orderHistory(deps.db, c.get("auth").accountId, { limit: q.limit, cursor: q.cursor });
      return c.json(
        {
          data: page.rows.map((o) => ({
            id: o.id,
            provider: o.provider,
            status: o.status,
            amount: o.currency === "XTR" ? o.amountMinor.toString() : formatKopecks(o.amountMinor),
            currency: o.currency,
            credits: formatMoney(o.creditsMicros),
            created_at: o.createdAt.toISOString(),
            paid_at: o.paidAt?.toISOString() ?? null,
          })),
          next_cursor: page.next,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/referrals",
      tags: ["Client"],
      summary: "The invite link, invited accounts and commissions earned",
      security,
      responses: { 200: json(Referrals, "Referrals"), 401: err("Not authenticated") },
    }),
    async (c) => {
      const accountId = c.get("auth").accountId;
      const [stats, invited, ledger] = await Promise.all([referralStats(deps.db, accountId), invitees(deps.db, accountId), ledgerHistory(deps.db, accountId, { limit: 200, kinds: ["referral_bonus", "referral_reversal"] })]);
      const bps = deps.payments.cfg.referralBasisPoints;
      const bot = deps.settings.telegram.botUsername?.replace(/^@/, "");
      const origin = deps.settings.publicUrl?.replace(/\/+$/, "") ?? "";
      return c.json(
        {
          code: stats.code,
          web_link: `${origin}${WEB_APP_BASE}/signup?ref=${stats.code}`,
          bot_link: bot ? `https://t.me/${bot}?start=ref_${stats.code}` : null,
          percent: formatMoney(bps * 10_000n, 0),
          invitees: stats.invitees,
          earned: formatMoney(stats.earnedMicros),
          currency: cur,
          invited: invited.map((i) => ({ account_id: i.accountId, label: i.label, joined_at: i.joinedAt.toISOString(), earned: formatMoney(i.earnedMicros) })),
          commissions: ledger.rows.map(ledgerJson),
        },
        200,
      );
    },
  );

  return app;
}
