import { createRoute, z } from "@hono/zod-openapi";
import { writeAudit } from "../../../audit/index.js";
import { AppError } from "../../../core/errors.js";
import { formatMoney } from "../../../core/money.js";
import { getPaymentById, listOrders, listPayments } from "../../../payments/admin.js";
import { refundPayment } from "../../../payments/refunds.js";
import type { AppDeps } from "../../deps.js";
import { errorResponse as err, json, SECURITY } from "../../openapi.js";
import { createRouter, validationError } from "../../router.js";
import { OrderOut, orderOut, PaymentOut, paymentOut } from "../../views/payments.js";

const ListQuery = z.object({
  account_id: z.string().optional(),
  status: z.string().optional(),
  provider: z.enum(["tg_stars", "tg_provider", "yookassa", "stripe"]).optional(),
  before: z.iso.datetime().optional().openapi({ description: "Page: rows created before this instant (the last row's created_at)" }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const RefundBody = z
  .object({
    reason: z.string().max(500).optional(),
    /** Refuse when the account has already spent the credit (the /paysupport policy). Default false: admins may refund into a negative balance. */
    require_unspent_balance: z.boolean().default(false),
    /** Retry a refund stuck in `refunding` (provider call crashed). */
    retry_stuck: z.boolean().default(false),
  })
  .openapi("AdminRefundRequest");

const RefundOut = z
  .object({
    status: z.string(),
    payment: PaymentOut.nullable(),
    debited: z.string().nullable(),
    commission_reversed: z.string().nullable(),
    balance_after: z.string().nullable(),
  })
  .openapi("AdminRefundResult");

/** Admin: payment orders, payments, and refunding a payment by hand. */
export function createAdminPaymentsRoutes(deps: AppDeps) {
  const app = createRouter();
  const adminSecurity = SECURITY.admin;
  const rt = () => deps.payments;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/payments/orders",
      tags: ["Admin: payments"],
      summary: "Top-up orders (Telegram invoices, YooKassa payments)",
      security: adminSecurity,
      request: { query: ListQuery },
      responses: { 200: json(z.object({ data: z.array(OrderOut) }), "Newest first"), 401: err("Not admin") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const rows = await listOrders(deps.db, {
        accountId: q.account_id,
        status: q.status,
        provider: q.provider,
        before: q.before ? new Date(q.before) : undefined,
        limit: q.limit,
      });
      return c.json({ data: rows.map(orderOut) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/payments",
      tags: ["Admin: payments"],
      summary: "Payments received (one row per provider charge)",
      security: adminSecurity,
      request: { query: ListQuery },
      responses: { 200: json(z.object({ data: z.array(PaymentOut) }), "Newest first"), 401: err("Not admin") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const rows = await listPayments(deps.db, {
        accountId: q.account_id,
        status: q.status,
        provider: q.provider,
        before: q.before ? new Date(q.before) : undefined,
        limit: q.limit,
      });
      return c.json({ data: rows.map(paymentOut) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/payments/{id}/refund",
      tags: ["Admin: payments"],
      summary: "Refund a payment (refundStarPayment / YooKassa refund), debit it once and reverse the referral commission",
      security: adminSecurity,
      request: { params: z.object({ id: z.string() }), body: { content: { "application/json": { schema: RefundBody } }, required: false } },
      responses: {
        200: json(RefundOut, "Refunded (or already refunded)"),
        202: json(RefundOut, "The provider accepted the refund; it completes asynchronously"),
        404: err("No such payment"),
        409: err("Refund in progress, insufficient unspent balance, or not supported for this provider"),
        502: err("The provider refused the refund"),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const parsed = RefundBody.safeParse((await c.req.json().catch(() => ({}))) ?? {});
      if (!parsed.success) throw validationError(parsed.error.issues, "json");
      const body = parsed.data;
      const actor = c.get("actor");
      const before = await getPaymentById(deps.db, id);
      if (!before) throw new AppError("not_found", `No payment ${id}`);
      const r = await refundPayment(deps.db, rt().refundGateways(), {
        paymentId: id,
        actor,
        requireUnspentBalance: body.require_unspent_balance,
        retryStuck: body.retry_stuck,
      });
      const after = await getPaymentById(deps.db, id);
      await deps.db.transaction((tx) =>
        writeAudit(tx, {
          actor,
          action: "payment.refund",
          targetType: "payment",
          targetId: id,
          before: paymentOut(before),
          after: { outcome: r.status, reason: body.reason ?? null, payment: after ? paymentOut(after) : null },
        }),
      );
      c.get("logger").info({ paymentId: id, outcome: r.status, actor }, "admin refund");
      if (r.status === "in_progress") throw new AppError("conflict", "A refund of this payment is already in progress (retry_stuck: true to retry)");
      if (r.status === "insufficient_balance")
        throw new AppError(
          "conflict",
          `The account has already spent this credit: available ${formatMoney(r.availableMicros)}, refund ${formatMoney(r.neededMicros)}`,
          {
            details: { available: formatMoney(r.availableMicros), needed: formatMoney(r.neededMicros) },
          },
        );
      if (r.status === "unsupported") throw new AppError("conflict", `Refunds of ${r.provider} payments are not supported here; refund at the provider`);
      if (r.status === "provider_error") throw new AppError("upstream_error", `The provider refused the refund: ${r.error}`);
      if (r.status === "not_found") throw new AppError("not_found", `No payment ${id}`);
      const out = {
        status: r.status,
        payment: after ? paymentOut(after) : null,
        debited: r.status === "refunded" ? formatMoney(r.debitedMicros) : null,
        commission_reversed: r.status === "refunded" ? formatMoney(r.commissionReversedMicros) : null,
        balance_after: r.status === "refunded" && r.balanceAfterMicros !== null ? formatMoney(r.balanceAfterMicros) : null,
      };
      return r.status === "pending" ? c.json(out, 202) : c.json(out, 200);
    },
  );
  return app;
}
