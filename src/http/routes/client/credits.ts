import { createRoute, z } from "@hono/zod-openapi";
import { accountCredits } from "../../../billing/reports.js";
import { AppError } from "../../../core/errors.js";
import type { AppDeps } from "../../deps.js";
import { apiKeyAuth } from "../../middleware/api-key-auth.js";
import { sessionAccountAuthenticator } from "../../middleware/browser-session.js";
import { SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { amount } from "../../views/usage.js";
import { err, json } from "../accounts-schemas.js";

const Credits = z
  .object({
    data: z.object({
      total_credits: z.number().openapi({ description: "Everything credited to the account (top-ups, refunds, adjustments), in the account currency" }),
      total_usage: z.number().openapi({ description: "Everything its requests were charged; total_credits − total_usage is the balance" }),
      currency: z.string(),
    }),
  })
  .openapi("Credits");

/** The calling account's credits and spend in OpenRouter's shape (`GET /api/v1/credits`), numbers in the account currency. */
export function createCreditsRoutes(deps: AppDeps) {
  const app = createRouter();
  app.use("/v1/credits", apiKeyAuth(deps, { alternatives: [sessionAccountAuthenticator(deps)] }));
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/credits",
      tags: ["Client"],
      summary: "The account's credits and usage (OpenRouter's GET /api/v1/credits)",
      security: SECURITY.bearer,
      responses: { 200: json(Credits, "Credits"), 401: err("Missing or invalid API key") },
    }),
    async (c) => {
      const r = await accountCredits(deps.db, c.get("auth").accountId);
      if (!r) throw new AppError("forbidden", "The account of this key does not exist.");
      return c.json({ data: { total_credits: amount(r.creditedMicros), total_usage: amount(r.usedMicros), currency: deps.settings.currency } }, 200);
    },
  );
  return app;
}
