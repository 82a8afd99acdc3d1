import { createRoute, z } from "@hono/zod-openapi";
import { priceTable } from "../../../billing/price-table.js";
import { effectiveLimits, modelAllowed } from "../../../billing/prepare.js";
import { formatMoney } from "../../../core/money.js";
import type { AppDeps } from "../../deps.js";
import { SECURITY, errorResponse as err, json } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { accountAuthOnce, Money } from "./account-shared.js";

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

const modelType = (id: string) => (/embed/i.test(id) ? ("embedding" as const) : ("chat" as const));

/** The customer's prices: every model the caller's tariff allows, at the customer's price. */
export function createClientPriceRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.bearer;
  app.use("/v1/client/prices", accountAuthOnce(deps));
  const cur = deps.settings.currency;

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/prices",
      tags: ["Client"],
      summary: "Models as this account pays for them: price per 1M tokens in the account currency with the tariff's markup",
      description: "When a model has several priced routes the highest price is shown: a request is never charged more than that.",
      security,
      request: {
        query: z.object({
          q: z
            .string()
            .max(200)
            .optional()
            .openapi({ param: { name: "q", in: "query" }, description: "Substring of the model id" }),
        }),
      },
      responses: {
        200: json(
          z.object({ currency: z.string(), tariff: z.object({ id: z.string(), name: z.string() }), data: z.array(PriceItem) }).openapi("CustomerPrices"),
          "Prices",
        ),
        401: err("Not authenticated"),
      },
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
        byModel.set(
          r.modelId,
          p
            ? { input: p.input > r.pricePerM.input ? p.input : r.pricePerM.input, output: p.output > r.pricePerM.output ? p.output : r.pricePerM.output }
            : r.pricePerM,
        );
      }
      const meta = new Map<string, { name: string | null; contextLength: number | null; maxOutput: number | null }>();
      for (const m of models) meta.set(m.id, { name: m.name, contextLength: m.contextLength, maxOutput: m.maxOutput });
      for (const p of snap.prices.values())
        if (!meta.has(p.modelId)) meta.set(p.modelId, { name: p.name, contextLength: p.contextLength, maxOutput: p.maxOutput });
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

  return app;
}
