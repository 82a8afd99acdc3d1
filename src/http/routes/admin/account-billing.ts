import { z } from "@hono/zod-openapi";
import { adjustBalance } from "../../../billing/admin.js";
import { accountLedger } from "../../../billing/reports.js";
import { AppError } from "../../../core/errors.js";
import { formatMoney, parseMoney } from "../../../core/money.js";
import type { AppDeps } from "../../deps.js";
import { createRouter } from "../../router.js";
import { getAccount } from "../../../accounts/users.js";
import { routesOf } from "../../define-routes.js";
import { ADMIN_ERRORS, body, errorResponse as err, IdParam, json, SECURITY } from "../../openapi.js";
import { SignedMoney } from "../../views/billing.js";

/** Admin: an account's balance adjustments, ledger and tariff. */
export function createAdminAccountBillingRoutes(deps: AppDeps) {
  const app = createRouter();
  const add = routesOf(app, { tag: "Admin billing", security: SECURITY.admin, errors: ADMIN_ERRORS });
  const cur = deps.settings.currency;
  // ---------- accounts: adjustments, ledger, tariff ----------
  add(
    {
      method: "post",
      path: "/admin/accounts/{id}/adjustments",
      summary: "Credit (positive) or debit (negative) an account through the ledger",
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
          z
            .object({
              account_id: z.string(),
              applied: z.boolean(),
              entry_id: z.string(),
              balance: z.string(),
              reserved: z.string(),
              available: z.string(),
              currency: z.string(),
            })
            .openapi("AdjustmentResult"),
          "New balance (applied=false: the idempotency key was seen before, nothing changed)",
        ),
        400: err("Invalid"),
        404: err("No such account"),
        409: err("Insufficient balance or idempotency key reused with another amount"),
      },
    },
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
        {
          account_id: id,
          applied: r.applied,
          entry_id: r.entryId,
          balance: formatMoney(r.balanceMicros),
          reserved: formatMoney(r.reservedMicros),
          available: formatMoney(r.balanceMicros - r.reservedMicros),
          currency: cur,
        },
        200,
      );
    },
  );

  const LedgerEntry = z
    .object({
      id: z.string(),
      kind: z.string(),
      amount: z.string(),
      balance_after: z.string(),
      ref: z.string(),
      reason: z.string().nullable(),
      actor: z.string(),
      meta: z.record(z.string(), z.unknown()).nullable(),
      created_at: z.string(),
    })
    .openapi("LedgerEntry");
  add(
    {
      method: "get",
      path: "/admin/accounts/{id}/ledger",
      summary: "An account's ledger, newest first",
      request: {
        params: IdParam,
        query: z.object({
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(500)
            .default(50)
            .openapi({ param: { name: "limit", in: "query" } }),
          cursor: z
            .string()
            .max(500)
            .optional()
            .openapi({ param: { name: "cursor", in: "query" } }),
          kind: z
            .string()
            .max(50)
            .optional()
            .openapi({ param: { name: "kind", in: "query" } }),
        }),
      },
      responses: {
        200: json(
          z.object({ account_id: z.string(), balance: z.string(), currency: z.string(), data: z.array(LedgerEntry), next_cursor: z.string().nullable() }),
          "Entries",
        ),
        404: err("No such account"),
      },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const q = c.req.valid("query");
      const acct = await getAccount(deps.db, id);
      if (!acct) throw new AppError("not_found", `No account ${id}`);
      const page = await accountLedger(deps.db, id, q.limit, q.cursor ?? null, q.kind);
      return c.json(
        {
          account_id: id,
          balance: formatMoney(acct.balanceMicros),
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

  add(
    {
      method: "put",
      path: "/admin/accounts/{id}/tariff",
      summary: "Put an account on a tariff (null = the default tariff)",
      request: { params: IdParam, ...body(z.object({ tariff_id: z.string().min(1).nullable() }).openapi("AssignTariff")) },
      responses: {
        200: json(z.object({ account_id: z.string(), tariff_id: z.string().nullable() }), "Assigned"),
        404: err("No such account or tariff"),
        409: err("Tariff archived"),
      },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const r = await deps.billingAdmin.assignTariff(id, c.req.valid("json").tariff_id, c.get("actor"));
      return c.json({ account_id: r.accountId, tariff_id: r.tariffId }, 200);
    },
  );
  return app;
}
