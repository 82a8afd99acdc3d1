import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { apiKeyAuth } from "../../middleware/api-key-auth.js";
import { sessionAccountAuthenticator } from "../../middleware/browser-session.js";

/** Amounts on the customer's account pages. */
export const Money = z.string().openapi({ description: "Decimal amount in the account currency", example: "12.50" });

/** Keyset pagination of the account pages. */
export const Page = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(300)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the previous page" }),
};

/**
 * API key or dashboard session, always the caller's own account. /v1/client/* may already be
 * authenticated by the usage routes' middleware: verify once.
 */
export function accountAuthOnce(deps: AppDeps) {
  const auth = apiKeyAuth(deps, { alternatives: [sessionAccountAuthenticator(deps)] });
  return async (c: Context<AppEnv>, next: () => Promise<void>) => (c.get("auth") ? next() : auth(c, next));
}
