import { createRoute, z } from "@hono/zod-openapi";
import { formatMoney } from "../../../core/money.js";
import { listCommissions } from "../../../payments/commissions.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { json, SECURITY } from "../../openapi.js";

const TAG = ["Admin: console"];
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

/** Referral commissions paid to inviters. */
export function createAdminCommissionRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.admin;
  const cur = deps.settings.currency;

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
  return app;
}
