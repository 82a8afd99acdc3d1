import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { listRequestLogs } from "../../../accounts/admin-logs.js";
import { customerBalance } from "../../../billing/customer-balance.js";
import { formatMoney } from "../../../core/money.js";
import { requestLogs } from "../../../db/schema/index.js";
import type { AppDeps } from "../../deps.js";
import { didAuth } from "../../middleware/did-auth.js";
import { SECURITY } from "../../openapi.js";
import { accountsRouter, err, json } from "../accounts-schemas.js";

/** Usage of the account behind a DID-signed request: totals per model and the latest requests. */
export function createDidUsageRoutes(deps: AppDeps) {
  const app = accountsRouter();

  app.use("/api/v1/usage", didAuth(deps));
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/usage",
      tags: ["Auth"],
      summary: "Usage of the DID's account (DID-signed: x-did, x-did-timestamp, x-did-signature)",
      security: SECURITY.did,
      request: { query: z.object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() }) },
      responses: { 200: json(z.record(z.string(), z.unknown()).openapi("DidUsage"), "Usage"), 401: err("Bad signature") },
    }),
    async (c) => {
      const auth = c.get("auth");
      const q = c.req.valid("query");
      const balance = await customerBalance(deps.db, auth.accountId);
      const conds = [eq(requestLogs.accountId, auth.accountId)];
      if (q.from) conds.push(gte(requestLogs.createdAt, new Date(q.from)));
      if (q.to) conds.push(lt(requestLogs.createdAt, new Date(q.to)));
      const byModel = await deps.db
        .select({
          model: requestLogs.requestedModel,
          requests: sql<number>`count(*)`.mapWith(Number),
          prompt: sql<string>`coalesce(sum(${requestLogs.promptTokens}), 0)::text`,
          completion: sql<string>`coalesce(sum(${requestLogs.completionTokens}), 0)::text`,
          cost: sql<string>`coalesce(sum(${requestLogs.priceMicros}), 0)::text`,
        })
        .from(requestLogs)
        .where(and(...conds))
        .groupBy(requestLogs.requestedModel);
      const recent = await listRequestLogs(deps.db, {
        accountId: auth.accountId,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        limit: 20,
      });
      const sum = (f: (r: (typeof byModel)[number]) => string) => byModel.reduce((s, r) => s + BigInt(f(r)), 0n);
      return c.json(
        {
          did: c.req.header("x-did") ?? null,
          account_id: auth.accountId,
          key_id: auth.keyId,
          balance: balance ? formatMoney(balance.availableMicros) : null,
          currency: deps.settings.currency,
          requests: byModel.reduce((s, r) => s + r.requests, 0),
          input_tokens: Number(sum((r) => r.prompt)),
          output_tokens: Number(sum((r) => r.completion)),
          total_cost: formatMoney(sum((r) => r.cost)),
          by_model: byModel.map((r) => ({
            model: r.model,
            requests: r.requests,
            input_tokens: Number(r.prompt),
            output_tokens: Number(r.completion),
            cost: formatMoney(BigInt(r.cost)),
          })),
          recent: recent.data,
        },
        200,
      );
    },
  );

  return app;
}
