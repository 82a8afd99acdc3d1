import { createRoute, z } from "@hono/zod-openapi";
import { priceTable } from "../../../billing/price-table.js";
import { AppError } from "../../../core/errors.js";
import { formatMoney } from "../../../core/money.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { errorResponse as err, json, SECURITY } from "../../openapi.js";

const TAG = ["Admin: console"];
const PriceTableRow = z
  .object({
    model_id: z.string(),
    provider_id: z.string(),
    source: z.enum(["book", "config"]),
    book_source: z.enum(["admin", "sync"]).nullable(),
    upstream_usd: z
      .object({
        input: z.string(),
        output: z.string(),
        cached_input: z.string().nullable(),
        cache_write: z.string().nullable(),
        reasoning: z.string().nullable(),
      })
      .openapi({ description: "USD per 1M tokens (list price)" }),
    markup: z.string(),
    upstream_cost: z.object({ input: z.string(), output: z.string() }).openapi({ description: "Account currency per 1M tokens at the FX rate in force" }),
    customer_price: z
      .object({ input: z.string(), output: z.string() })
      .openapi({ description: "Account currency per 1M tokens: what the tariff's customers pay" }),
  })
  .openapi("PriceTableRow");

const usdMicrosPerM = (v: bigint) => formatMoney(v);

/** The price table: upstream USD prices next to a tariff's customer prices. */
export function createAdminPriceTableRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.admin;
  const cur = deps.settings.currency;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/price-table",
      tags: TAG,
      summary: "Upstream list price, markup and customer price side by side, for one tariff (default: the default tariff)",
      security,
      request: {
        query: z.object({
          tariff_id: z.string().max(100).optional(),
          model: z.string().max(300).optional().openapi({ description: "substring of the model id" }),
        }),
      },
      responses: {
        200: json(
          z.object({
            currency: z.string(),
            fx_rate: z.string(),
            tariff: z.object({ id: z.string(), name: z.string(), markup: z.string() }),
            data: z.array(PriceTableRow),
          }),
          "Price table",
        ),
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
  return app;
}
