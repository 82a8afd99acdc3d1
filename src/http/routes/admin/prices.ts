import { z } from "@hono/zod-openapi";
import { listPrices } from "../../../billing/admin.js";
import { microsPerMToDecimal, parsePositiveMillionths } from "../../../billing/pricing.js";
import { AppError } from "../../../core/errors.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { listPriceChanges } from "../../../billing/catalog-sync.js";
import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, body, errorResponse as err, IdParam, json, SECURITY } from "../../openapi.js";
import { PriceBody, Price, priceJson, priceMicros } from "../../views/billing.js";

/** Admin: the price book, the OpenRouter sync and the price changes its guard held back. */
export function createAdminPriceRoutes(deps: AppDeps) {
  const app = createRouter();
  const add = routesOf(app, { tag: "Admin billing", security: SECURITY.admin, errors: ADMIN_ERRORS });
  // ---------- prices ----------
  add(
    {
      method: "get",
      path: "/admin/prices",
      summary: "The price book (upstream cost per 1M tokens in USD, per model and provider)",
      request: {
        query: z.object({
          model: z
            .string()
            .max(300)
            .optional()
            .openapi({ param: { name: "model", in: "query" }, description: "substring of the model id" }),
          source: z
            .enum(["admin", "sync"])
            .optional()
            .openapi({ param: { name: "source", in: "query" } }),
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(1000)
            .default(100)
            .openapi({ param: { name: "limit", in: "query" } }),
          offset: z.coerce
            .number()
            .int()
            .min(0)
            .default(0)
            .openapi({ param: { name: "offset", in: "query" } }),
        }),
      },
      responses: { 200: json(z.object({ data: z.array(Price), total: z.number().int() }), "Prices") },
    },
    async (c) => {
      const q = c.req.valid("query");
      const r = await listPrices(deps.db, { modelId: q.model, source: q.source, limit: q.limit, offset: q.offset });
      return c.json({ data: r.rows.map(priceJson), total: r.total }, 200);
    },
  );
  add(
    {
      method: "put",
      path: "/admin/prices",
      summary: "Set a model's price (and optional per-model markup); admin prices are pinned against catalog sync",
      request: body(PriceBody),
      responses: { 200: json(Price, "Saved"), 400: err("Invalid") },
    },
    async (c) => {
      const b = c.req.valid("json");
      const row = await deps.billingAdmin.upsertPrice(
        {
          modelId: b.model_id,
          providerId: b.provider_id,
          prices: {
            input: priceMicros(b.input),
            output: priceMicros(b.output),
            cachedInput: b.cached_input ? priceMicros(b.cached_input) : null,
            cacheWrite: b.cache_write ? priceMicros(b.cache_write) : null,
            reasoning: b.reasoning ? priceMicros(b.reasoning) : null,
          },
          markupPpm: b.markup ? parsePositiveMillionths(b.markup, "markup") : null,
          contextLength: b.context_length ?? null,
          maxOutput: b.max_output ?? null,
          name: b.name ?? null,
        },
        c.get("actor"),
      );
      return c.json(priceJson(row), 200);
    },
  );
  add(
    {
      method: "delete",
      path: "/admin/prices",
      summary: "Remove a price-book row (the gateway config's price, if any, applies again)",
      request: {
        query: z.object({
          model_id: z
            .string()
            .min(1)
            .openapi({ param: { name: "model_id", in: "query" } }),
          provider_id: z
            .string()
            .min(1)
            .default("*")
            .openapi({ param: { name: "provider_id", in: "query" } }),
        }),
      },
      responses: { 200: json(z.object({ model_id: z.string(), provider_id: z.string(), deleted: z.literal(true) }), "Deleted"), 404: err("Not found") },
    },
    async (c) => {
      const q = c.req.valid("query");
      await deps.billingAdmin.deletePrice(q.model_id, q.provider_id, c.get("actor"));
      return c.json({ model_id: q.model_id, provider_id: q.provider_id, deleted: true as const }, 200);
    },
  );
  add(
    {
      method: "post",
      path: "/admin/prices/sync",
      summary: "Sync the price book from OpenRouter's /models now (large moves wait in /admin/price-changes)",
      request: { body: { content: { "application/json": { schema: z.object({ provider_id: z.string().min(1).max(100).optional() }) } }, required: false } },
      responses: {
        200: json(
          z
            .object({
              seen: z.number(),
              added: z.number(),
              updated: z.number(),
              unchanged: z.number(),
              held: z.number(),
              pinned: z.number(),
              rejectedBefore: z.number(),
              invalid: z.number(),
            })
            .openapi("SyncReport"),
          "Report",
        ),
        502: err("OpenRouter unreachable"),
      },
    },
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
  add(
    {
      method: "get",
      path: "/admin/price-changes",
      summary: "Price changes the sync guard held back (USD per 1M tokens)",
      request: {
        query: z.object({
          status: z
            .enum(["pending", "approved", "rejected", "superseded"])
            .default("pending")
            .openapi({ param: { name: "status", in: "query" } }),
        }),
      },
      responses: { 200: json(z.object({ data: z.array(PriceChange) }), "Changes") },
    },
    async (c) => {
      const { status } = c.req.valid("query");
      const rows = await listPriceChanges(deps.db, status);
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
    add(
      {
        method: "post",
        path: `/admin/price-changes/{id}/${decision}`,
        summary: decision === "approve" ? "Apply a held price change" : "Discard a held price change",
        request: { params: IdParam },
        responses: { 200: json(z.object({ id: z.string(), status: z.string() }), "Decided"), 404: err("Not found"), 409: err("Not pending") },
      },
      async (c) => {
        const { id } = c.req.valid("param");
        const r = await deps.billingAdmin.decidePriceChange(id, decision, c.get("actor"));
        if (!r.ok)
          throw r.reason === "not_found"
            ? new AppError("not_found", `No price change ${id}`)
            : new AppError("conflict", "This price change was already decided");
        return c.json({ id, status: r.status }, 200);
      },
    );
  }
  return app;
}
