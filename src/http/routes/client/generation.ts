import { createRoute, z } from "@hono/zod-openapi";
import { generation } from "../../../billing/reports.js";
import { AppError } from "../../../core/errors.js";
import { formatMoney } from "../../../core/money.js";
import type { AppDeps } from "../../deps.js";
import { apiKeyAuth } from "../../middleware/api-key-auth.js";
import { sessionAccountAuthenticator } from "../../middleware/browser-session.js";
import { SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { amount, Money } from "../../views/usage.js";
import { err, json } from "../accounts-schemas.js";

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
      total_cost: z.number().nullable().openapi({ description: "What the request cost, in the account currency (a number, as OpenRouter returns it)" }),
      usage: z.number().nullable().openapi({ description: "Same as total_cost (OpenRouter's field)" }),
      cost: Money.nullable().openapi({ description: "total_cost as an exact decimal string" }),
      upstream_id: z.string().nullable().openapi({ description: "The upstream's id of this generation (OpenRouter's `gen-…`), for reconciliation" }),
      upstream_provider: z.string().nullable().openapi({ description: "The provider the upstream routed to, when it says (OpenRouter's `provider`)" }),
      currency: z.string(),
      latency: z.number().int().nullable(),
      ttft: z.number().int().nullable(),
      error_code: z.string().nullable(),
      cache_hit: z.boolean(),
    }),
  })
  .openapi("Generation");

/** One request of the calling account, OpenRouter's generation view. */
export function createGenerationRoutes(deps: AppDeps) {
  const app = createRouter();
  app.use("/v1/generation", apiKeyAuth(deps, { alternatives: [sessionAccountAuthenticator(deps)] }));
  const security = SECURITY.bearer;

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/generation",
      tags: ["Client"],
      summary: "One request of the calling account: tokens, cost, provider, latency (OpenRouter's GET /api/v1/generation)",
      security,
      request: {
        query: z.object({
          id: z
            .string()
            .min(1)
            .max(200)
            .openapi({ param: { name: "id", in: "query" }, example: "req_0123abcd" }),
        }),
      },
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
            total_cost: g.costMicros === null ? null : amount(g.costMicros),
            usage: g.costMicros === null ? null : amount(g.costMicros),
            cost: g.costMicros === null ? null : formatMoney(g.costMicros),
            upstream_id: g.upstreamId,
            upstream_provider: g.upstreamProvider,
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
