import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import {
  adjustBalance,
  assignTariff,
  createTariff,
  deletePrice,
  deleteTariff,
  getTariff,
  listFxRates,
  listPrices,
  listTariffs,
  setFxRate,
  updateTariff,
  upsertPrice,
  type PriceBookRow,
  type TariffInput,
  type TariffRow,
} from "../../billing/admin.js";
import { decidePriceChange } from "../../billing/catalog-sync.js";
import { microsPerMToDecimal, parsePositiveMillionths } from "../../billing/pricing.js";
import { QuotaLimitsSchema } from "../../billing/quotas.js";
import { accountLedger, platformByModel, platformDaily, platformSummary, type PlatformFigures } from "../../billing/reports.js";
import { AppError } from "../../core/errors.js";
import { formatMoney, parseMoney } from "../../core/money.js";
import { accounts, priceChanges } from "../../db/schema/index.js";
import type { AppDeps } from "../deps.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

const SignedMoney = z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/, 'a decimal amount such as "150.00"');
const Decimal6 = z.string().regex(/^\d{1,9}(\.\d{1,6})?$/, 'a non-negative decimal with up to 6 places, e.g. "1.5"');
const PositiveDecimal = Decimal6.refine((s) => parseMoney(s) > 0n, "must be greater than zero");

const Limits = QuotaLimitsSchema.superRefine((v, ctx) => {
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

const RateLimits = z
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
  .openapi("TariffRateLimits", { description: "Read by the rate limiter: requests/tokens per window and concurrent requests, per key and per account; 0 = no limit" });

const TariffBody = z
  .object({
    name: z.string().min(1).max(100),
    description: z.string().max(2000),
    markup: PositiveDecimal.openapi({ description: "Sale price = upstream cost × USD rate × markup", example: "1.5" }),
    is_default: z.boolean(),
    status: z.enum(["active", "archived"]),
    token_allowance: z.number().int().min(0).nullable().openapi({ description: "All-time tokens (seed 001's max_tokens), at the scope the tariff is attached to" }),
    limits: Limits,
    key_limits: Limits,
    allowed_models: z.array(z.string().min(1)).nullable().openapi({ description: "Model ids or prefixes ending in *; null = all" }),
    model_markups: z.record(z.string().min(1), PositiveDecimal),
    rate_limits: RateLimits,
  })
  .partial();
const CreateTariff = TariffBody.required({ name: true }).openapi("CreateTariff");
const PatchTariff = TariffBody.openapi("UpdateTariff");

const Tariff = z
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
    accounts: z.number().int().optional(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Tariff");

const UsdPerM = z.string().regex(/^\d{1,9}(\.\d{1,6})?$/, "USD per 1M tokens, up to 6 decimals");
const PriceBody = z
  .object({
    model_id: z.string().min(1).max(300),
    provider_id: z.string().min(1).max(100).default("*").openapi({ description: "`*` = any provider" }),
    input: UsdPerM.openapi({ description: "USD per 1M prompt tokens", example: "0.15" }),
    output: UsdPerM.openapi({ example: "0.6" }),
    cached_input: UsdPerM.nullable().optional(),
    reasoning: UsdPerM.nullable().optional(),
    markup: PositiveDecimal.nullable().optional().openapi({ description: "Per-model markup for every tariff (a tariff's model_markups wins)" }),
    context_length: z.number().int().positive().nullable().optional(),
    max_output: z.number().int().positive().nullable().optional(),
    name: z.string().max(300).nullable().optional(),
  })
  .openapi("PriceInput");

const Price = z
  .object({
    model_id: z.string(),
    provider_id: z.string(),
    input: z.string(),
    output: z.string(),
    cached_input: z.string().nullable(),
    reasoning: z.string().nullable(),
    markup: z.string().nullable(),
    context_length: z.number().int().nullable(),
    max_output: z.number().int().nullable(),
    name: z.string().nullable(),
    source: z.string(),
    updated_at: z.string(),
  })
  .openapi("Price");

const Stats = z
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

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
const security = [{ adminToken: [] }];
const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });
const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });

const ppmStr = (v: bigint) => formatMoney(v, 1);

function tariffJson(t: TariffRow & { accounts?: number }) {
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
    ...(t.accounts !== undefined ? { accounts: t.accounts } : {}),
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}

function tariffInput(b: z.infer<typeof TariffBody>): TariffInput {
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
  return i;
}

function priceJson(p: PriceBookRow) {
  return {
    model_id: p.modelId,
    provider_id: p.providerId,
    input: microsPerMToDecimal(p.inputMicrosPerM),
    output: microsPerMToDecimal(p.outputMicrosPerM),
    cached_input: p.cachedInputMicrosPerM === null ? null : microsPerMToDecimal(p.cachedInputMicrosPerM),
    reasoning: p.reasoningMicrosPerM === null ? null : microsPerMToDecimal(p.reasoningMicrosPerM),
    markup: p.markupPpm === null ? null : ppmStr(p.markupPpm),
    context_length: p.contextLength ?? null,
    max_output: p.maxOutput ?? null,
    name: p.name ?? null,
    source: p.source,
    updated_at: p.updatedAt.toISOString(),
  };
}

function statsJson(f: PlatformFigures) {
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

const priceMicros = (s: string) => parseMoney(s);

/**
 * Admin billing endpoints (admin token, mounted under /admin where the admin middleware runs):
 * adjustments, ledger, tariff assignment, tariffs, prices, pending price changes, FX rates and
 * platform statistics. Every write is audited in its own transaction (billing/admin.ts).
 */
export function createAdminBillingRoutes(deps: AppDeps) {
  const app = createRouter();
  const svc = () => deps.billing;
  const cur = deps.settings.currency;

  // ---------- accounts: adjustments, ledger, tariff ----------
  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/accounts/{id}/adjustments",
      tags: ["Admin billing"],
      summary: "Credit (positive) or debit (negative) an account through the ledger",
      security,
      request: {
        params: IdParam,
        ...body(
          z
            .object({
              amount: SignedMoney.openapi({ example: "150.00" }),
              reason: z.string().min(1).max(500),
              idempotency_key: z.string().min(1).max(200).optional(),
              allow_negative: z.boolean().optional().openapi({ description: "Let a debit take the available balance below zero" }),
            })
            .openapi("Adjustment"),
        ),
      },
      responses: {
        200: json(
          z.object({ account_id: z.string(), applied: z.boolean(), entry_id: z.string(), balance: z.string(), reserved: z.string(), available: z.string(), currency: z.string() }).openapi("AdjustmentResult"),
          "New balance (applied=false: the idempotency key was seen before, nothing changed)",
        ),
        400: err("Invalid"),
        404: err("No such account"),
        409: err("Insufficient balance or idempotency key reused with another amount"),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const b = c.req.valid("json");
      const r = await adjustBalance(deps.db, {
        accountId: id,
        amountMicros: parseMoney(b.amount),
        reason: b.reason,
        idempotencyKey: b.idempotency_key ?? null,
        allowNegative: b.allow_negative,
        actor: c.get("actor"),
      });
      return c.json(
        { account_id: id, applied: r.applied, entry_id: r.entryId, balance: formatMoney(r.balanceMicros), reserved: formatMoney(r.reservedMicros), available: formatMoney(r.balanceMicros - r.reservedMicros), currency: cur },
        200,
      );
    },
  );

  const LedgerEntry = z
    .object({ id: z.string(), kind: z.string(), amount: z.string(), balance_after: z.string(), ref: z.string(), reason: z.string().nullable(), actor: z.string(), meta: z.record(z.string(), z.unknown()).nullable(), created_at: z.string() })
    .openapi("LedgerEntry");
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/accounts/{id}/ledger",
      tags: ["Admin billing"],
      summary: "An account's ledger, newest first",
      security,
      request: {
        params: IdParam,
        query: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ param: { name: "limit", in: "query" } }),
          cursor: z.string().max(500).optional().openapi({ param: { name: "cursor", in: "query" } }),
          kind: z.string().max(50).optional().openapi({ param: { name: "kind", in: "query" } }),
        }),
      },
      responses: {
        200: json(z.object({ account_id: z.string(), balance: z.string(), currency: z.string(), data: z.array(LedgerEntry), next_cursor: z.string().nullable() }), "Entries"),
        404: err("No such account"),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const q = c.req.valid("query");
      const acct = (await deps.db.select({ b: accounts.balanceMicros }).from(accounts).where(eq(accounts.id, id)))[0];
      if (!acct) throw new AppError("not_found", `No account ${id}`);
      const page = await accountLedger(deps.db, id, q.limit, q.cursor ?? null, q.kind);
      return c.json(
        {
          account_id: id,
          balance: formatMoney(acct.b),
          currency: cur,
          data: page.rows.map((r) => ({
            id: r.id,
            kind: r.kind,
            amount: formatMoney(r.amountMicros),
            balance_after: formatMoney(r.balanceAfterMicros),
            ref: r.ref,
            reason: r.reason,
            actor: r.actor,
            meta: r.meta,
            created_at: r.createdAt,
          })),
          next_cursor: page.next,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/admin/accounts/{id}/tariff",
      tags: ["Admin billing"],
      summary: "Put an account on a tariff (null = the default tariff)",
      security,
      request: { params: IdParam, ...body(z.object({ tariff_id: z.string().min(1).nullable() }).openapi("AssignTariff")) },
      responses: { 200: json(z.object({ account_id: z.string(), tariff_id: z.string().nullable() }), "Assigned"), 404: err("No such account or tariff"), 409: err("Tariff archived") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const r = await assignTariff(deps.db, id, c.req.valid("json").tariff_id, c.get("actor"));
      deps.keys.invalidate({ accountId: id });
      return c.json({ account_id: r.accountId, tariff_id: r.tariffId }, 200);
    },
  );

  // ---------- tariffs ----------
  app.openapi(
    createRoute({ method: "get", path: "/admin/tariffs", tags: ["Admin billing"], summary: "List tariffs", security, responses: { 200: json(z.object({ data: z.array(Tariff) }), "Tariffs") } }),
    async (c) => {
      await svc().ready();
      return c.json({ data: (await listTariffs(deps.db)).map(tariffJson) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/tariffs",
      tags: ["Admin billing"],
      summary: "Create a tariff",
      security,
      request: body(CreateTariff),
      responses: { 201: json(Tariff, "Created"), 400: err("Invalid"), 409: err("Name taken") },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const input = tariffInput(b);
      const row = await createTariff(deps.db, { ...input, name: b.name, markupPpm: input.markupPpm ?? deps.settings.defaultMarkupPpm }, c.get("actor"));
      svc().config.invalidate();
      return c.json(tariffJson(row), 201);
    },
  );
  app.openapi(
    createRoute({ method: "get", path: "/admin/tariffs/{id}", tags: ["Admin billing"], summary: "One tariff", security, request: { params: IdParam }, responses: { 200: json(Tariff, "Tariff"), 404: err("Not found") } }),
    async (c) => {
      const t = await getTariff(deps.db, c.req.valid("param").id);
      if (!t) throw new AppError("not_found", "No such tariff");
      return c.json(tariffJson(t), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/admin/tariffs/{id}",
      tags: ["Admin billing"],
      summary: "Change a tariff (fields given are replaced)",
      security,
      request: { params: IdParam, ...body(PatchTariff) },
      responses: { 200: json(Tariff, "Updated"), 400: err("Invalid"), 404: err("Not found"), 409: err("Conflict") },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const row = await updateTariff(deps.db, c.req.valid("param").id, tariffInput(b), c.get("actor"));
      svc().config.invalidate();
      // Keys carry their tariff's rate limits in the cached AuthContext.
      if (b.rate_limits !== undefined) deps.keys.invalidate();
      return c.json(tariffJson(row), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/tariffs/{id}",
      tags: ["Admin billing"],
      summary: "Delete an unused tariff",
      security,
      request: { params: IdParam },
      responses: { 200: json(z.object({ id: z.string(), deleted: z.literal(true) }), "Deleted"), 404: err("Not found"), 409: err("In use or default") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await deleteTariff(deps.db, id, c.get("actor"));
      svc().config.invalidate();
      return c.json({ id, deleted: true as const }, 200);
    },
  );

  // ---------- prices ----------
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/prices",
      tags: ["Admin billing"],
      summary: "The price book (upstream cost per 1M tokens in USD, per model and provider)",
      security,
      request: {
        query: z.object({
          model: z.string().max(300).optional().openapi({ param: { name: "model", in: "query" }, description: "substring of the model id" }),
          source: z.enum(["admin", "sync"]).optional().openapi({ param: { name: "source", in: "query" } }),
          limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ param: { name: "limit", in: "query" } }),
          offset: z.coerce.number().int().min(0).default(0).openapi({ param: { name: "offset", in: "query" } }),
        }),
      },
      responses: { 200: json(z.object({ data: z.array(Price), total: z.number().int() }), "Prices") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await listPrices(deps.db, { modelId: q.model, source: q.source, limit: q.limit, offset: q.offset });
      return c.json({ data: r.rows.map(priceJson), total: r.total }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/admin/prices",
      tags: ["Admin billing"],
      summary: "Set a model's price (and optional per-model markup); admin prices are pinned against catalog sync",
      security,
      request: body(PriceBody),
      responses: { 200: json(Price, "Saved"), 400: err("Invalid") },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const row = await upsertPrice(
        deps.db,
        {
          modelId: b.model_id,
          providerId: b.provider_id,
          prices: {
            input: priceMicros(b.input),
            output: priceMicros(b.output),
            cachedInput: b.cached_input ? priceMicros(b.cached_input) : null,
            reasoning: b.reasoning ? priceMicros(b.reasoning) : null,
          },
          markupPpm: b.markup ? parsePositiveMillionths(b.markup, "markup") : null,
          contextLength: b.context_length ?? null,
          maxOutput: b.max_output ?? null,
          name: b.name ?? null,
        },
        c.get("actor"),
      );
      svc().config.invalidate();
      return c.json(priceJson(row), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/prices",
      tags: ["Admin billing"],
      summary: "Remove a price-book row (the gateway config's price, if any, applies again)",
      security,
      request: {
        query: z.object({
          model_id: z.string().min(1).openapi({ param: { name: "model_id", in: "query" } }),
          provider_id: z.string().min(1).default("*").openapi({ param: { name: "provider_id", in: "query" } }),
        }),
      },
      responses: { 200: json(z.object({ model_id: z.string(), provider_id: z.string(), deleted: z.literal(true) }), "Deleted"), 404: err("Not found") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      await deletePrice(deps.db, q.model_id, q.provider_id, c.get("actor"));
      svc().config.invalidate();
      return c.json({ model_id: q.model_id, provider_id: q.provider_id, deleted: true as const }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/prices/sync",
      tags: ["Admin billing"],
      summary: "Sync the price book from OpenRouter's /models now (large moves wait in /admin/price-changes)",
      security,
      request: { body: { content: { "application/json": { schema: z.object({ provider_id: z.string().min(1).max(100).optional() }) } }, required: false } },
      responses: {
        200: json(
          z.object({ seen: z.number(), added: z.number(), updated: z.number(), unchanged: z.number(), held: z.number(), pinned: z.number(), rejectedBefore: z.number(), invalid: z.number() }).openapi("SyncReport"),
          "Report",
        ),
        502: err("OpenRouter unreachable"),
      },
    }),
    async (c) => {
      let providerId: string | undefined;
      if ((c.req.header("content-type") ?? "").includes("json")) {
        const raw = (await c.req.json().catch(() => ({}))) as { provider_id?: unknown };
        if (typeof raw.provider_id === "string") providerId = raw.provider_id;
      }
      let report;
      try {
        report = await deps.syncPrices({ actor: c.get("actor"), providerId });
      } catch (e) {
        if (e instanceof AppError) throw e;
        throw new AppError("upstream_error", `Catalog sync failed: ${(e as Error).message}`, { cause: e });
      }
      return c.json(report, 200);
    },
  );

  // ---------- pending price changes ----------
  const PriceChange = z
    .object({
      id: z.string(),
      model_id: z.string(),
      provider_id: z.string(),
      old_price: z.record(z.string(), z.string().nullable()).nullable(),
      new_price: z.record(z.string(), z.string().nullable()),
      change_pct: z.number().nullable(),
      status: z.string(),
      decided_by: z.string().nullable(),
      decided_at: z.string().nullable(),
      created_at: z.string(),
    })
    .openapi("PriceChange");
  const usdJson = (j: Record<string, string | null> | null) =>
    j === null ? null : Object.fromEntries(Object.entries(j).map(([k, v]) => [k, v === null ? null : microsPerMToDecimal(BigInt(v))]));
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/price-changes",
      tags: ["Admin billing"],
      summary: "Price changes the sync guard held back (USD per 1M tokens)",
      security,
      request: { query: z.object({ status: z.enum(["pending", "approved", "rejected", "superseded"]).default("pending").openapi({ param: { name: "status", in: "query" } }) }) },
      responses: { 200: json(z.object({ data: z.array(PriceChange) }), "Changes") },
    }),
    async (c) => {
      const { status } = c.req.valid("query");
      const rows = await deps.db.select().from(priceChanges).where(and(eq(priceChanges.status, status))).orderBy(desc(priceChanges.createdAt)).limit(1000);
      return c.json(
        {
          data: rows.map((r) => ({
            id: r.id,
            model_id: r.modelId,
            provider_id: r.providerId,
            old_price: usdJson(r.oldPrice ?? null),
            new_price: usdJson(r.newPrice)!,
            change_pct: r.changeBp === null ? null : r.changeBp / 100,
            status: r.status,
            decided_by: r.decidedBy ?? null,
            decided_at: r.decidedAt?.toISOString() ?? null,
            created_at: r.createdAt.toISOString(),
          })),
        },
        200,
      );
    },
  );
  for (const decision of ["approve", "reject"] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/admin/price-changes/{id}/${decision}`,
        tags: ["Admin billing"],
        summary: decision === "approve" ? "Apply a held price change" : "Discard a held price change",
        security,
        request: { params: IdParam },
        responses: { 200: json(z.object({ id: z.string(), status: z.string() }), "Decided"), 404: err("Not found"), 409: err("Not pending") },
      }),
      async (c) => {
        const { id } = c.req.valid("param");
        const r = await decidePriceChange(deps.db, id, decision, c.get("actor"));
        if (!r.ok) throw r.reason === "not_found" ? new AppError("not_found", `No price change ${id}`) : new AppError("conflict", "This price change was already decided");
        svc().config.invalidate();
        return c.json({ id, status: r.status }, 200);
      },
    );
  }

  // ---------- FX rates ----------
  const FxRate = z.object({ rate: z.string(), actor: z.string(), reason: z.string().nullable(), created_at: z.string() }).openapi("FxRate");
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/fx-rates",
      tags: ["Admin billing"],
      summary: "USD → account-currency rate in force and its history",
      security,
      responses: { 200: json(z.object({ currency: z.string(), rate: z.string(), history: z.array(FxRate) }), "Rates") },
    }),
    async (c) => {
      const s = svc();
      await s.ready();
      const rows = await listFxRates(deps.db, cur);
      const current = rows[0]?.rateMicros ?? deps.settings.usdRateMicros;
      return c.json(
        {
          currency: cur,
          rate: formatMoney(current),
          history: rows.map((r) => ({ rate: formatMoney(r.rateMicros), actor: r.actor, reason: r.reason ?? null, created_at: r.createdAt.toISOString() })),
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/fx-rates",
      tags: ["Admin billing"],
      summary: "Set the USD → account-currency rate (applies to new requests)",
      security,
      request: body(z.object({ rate: PositiveDecimal.openapi({ example: "95.5" }), reason: z.string().max(500).optional() }).openapi("SetFxRate")),
      responses: { 201: json(FxRate, "Set"), 400: err("Invalid") },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const row = await setFxRate(deps.db, cur, parsePositiveMillionths(b.rate, "rate"), b.reason ?? null, c.get("actor"));
      svc().config.invalidate();
      return c.json({ rate: formatMoney(row.rateMicros), actor: row.actor, reason: row.reason ?? null, created_at: row.createdAt.toISOString() }, 201);
    },
  );

  // ---------- statistics ----------
  const Range = z.object({
    from: z.iso.datetime({ offset: true }).optional().openapi({ param: { name: "from", in: "query" } }),
    to: z.iso.datetime({ offset: true }).optional().openapi({ param: { name: "to", in: "query" } }),
    days: z.coerce.number().int().min(1).max(366).default(30).openapi({ param: { name: "days", in: "query" }, description: "used when from is absent" }),
    account_id: z.string().max(100).optional().openapi({ param: { name: "account_id", in: "query" } }),
  });
  const period = (q: z.infer<typeof Range>) => {
    const to = q.to ? new Date(q.to) : new Date(deps.clock.now() + 1000);
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - q.days * 86_400_000);
    if (from >= to) throw new AppError("invalid_request", "`from` must be before `to`", { param: "from" });
    return { from, to };
  };
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/stats/summary",
      tags: ["Admin billing"],
      summary: "Platform totals: revenue, upstream cost, profit, tokens, requests",
      security,
      request: { query: Range },
      responses: { 200: json(Stats.extend({ currency: z.string(), from: z.string(), to: z.string() }), "Totals") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const p = period(q);
      const f = await platformSummary(deps.db, p, q.account_id);
      return c.json({ currency: cur, from: p.from.toISOString(), to: p.to.toISOString(), ...statsJson(f) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/stats/daily",
      tags: ["Admin billing"],
      summary: "Platform totals per day",
      security,
      request: { query: Range },
      responses: { 200: json(z.object({ currency: z.string(), data: z.array(Stats.extend({ date: z.string() })) }), "Per day") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const rows = await platformDaily(deps.db, period(q), deps.settings.billingTimezone, q.account_id);
      return c.json({ currency: cur, data: rows.map((r) => ({ date: r.date, ...statsJson(r) })) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/stats/models",
      tags: ["Admin billing"],
      summary: "Platform totals per model",
      security,
      request: { query: Range },
      responses: { 200: json(z.object({ currency: z.string(), data: z.array(Stats.extend({ model: z.string() })) }), "Per model") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const rows = await platformByModel(deps.db, period(q), q.account_id);
      return c.json({ currency: cur, data: rows.map((r) => ({ model: r.model, ...statsJson(r) })) }, 200);
    },
  );

  return app;
}
