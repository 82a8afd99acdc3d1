import { createRoute, z } from "@hono/zod-openapi";
import { writeAudit } from "../../audit/index.js";
import { AppError } from "../../core/errors.js";
import { formatMoney } from "../../core/money.js";
import {
  getPaymentById,
  listAnomalies,
  listOrders,
  listPayments,
  listRefundRequests,
  paymentsConsistency,
  rejectRefundRequest,
  type OrderRow,
  type PaymentRow,
} from "../../payments/admin.js";
import { refundPayment } from "../../payments/refunds.js";
import { formatKopecks } from "../../payments/rub.js";
import { lastStarsReconcileReport } from "../../payments/stars-reconcile.js";
import type { AppDeps } from "../deps.js";
import { createRouter, validationError } from "../router.js";
import { ErrorResponse } from "../schemas.js";

const adminSecurity = [{ adminToken: [] }];
const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });
const json = (schema: z.ZodType, description: string) => ({ content: { "application/json": { schema } }, description });

const ListQuery = z.object({
  account_id: z.string().optional(),
  status: z.string().optional(),
  provider: z.enum(["tg_stars", "tg_provider", "yookassa", "stripe"]).optional(),
  before: z.iso.datetime().optional().openapi({ description: "Page: rows created before this instant (the last row's created_at)" }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const minor = (amount: bigint, currency: string) => (currency === "XTR" ? amount.toString() : formatKopecks(amount));

const OrderOut = z
  .object({
    id: z.string(),
    account_id: z.string(),
    provider: z.string(),
    package_id: z.string().nullable(),
    status: z.string(),
    amount: z.string().openapi({ description: "Whole Stars for XTR, rubles for RUB" }),
    currency: z.string(),
    credits: z.string(),
    telegram_id: z.number().nullable(),
    provider_payment_id: z.string().nullable(),
    expires_at: z.string(),
    paid_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("AdminPaymentOrder");

const PaymentOut = z
  .object({
    id: z.string(),
    provider: z.string(),
    provider_payment_id: z.string(),
    order_id: z.string(),
    account_id: z.string(),
    payer_telegram_id: z.number().nullable(),
    amount: z.string(),
    currency: z.string(),
    credits: z.string(),
    status: z.string(),
    source: z.string(),
    duplicate_order: z.boolean(),
    inviter_account_id: z.string().nullable(),
    commission: z.string().nullable(),
    created_at: z.string(),
    refunded_at: z.string().nullable(),
    refunded_by: z.string().nullable(),
  })
  .openapi("AdminPayment");

function orderOut(o: OrderRow) {
  return {
    id: o.id,
    account_id: o.accountId,
    provider: o.provider,
    package_id: o.packageId,
    status: o.status,
    amount: minor(o.amountMinor, o.currency),
    currency: o.currency,
    credits: formatMoney(o.creditsMicros),
    telegram_id: o.telegramId,
    provider_payment_id: o.providerPaymentId,
    expires_at: o.expiresAt.toISOString(),
    paid_at: o.paidAt?.toISOString() ?? null,
    created_at: o.createdAt.toISOString(),
  };
}

function paymentOut(p: PaymentRow) {
  return {
    id: p.id,
    provider: p.provider,
    provider_payment_id: p.providerPaymentId,
    order_id: p.orderId,
    account_id: p.accountId,
    payer_telegram_id: p.payerTelegramId,
    amount: minor(p.amountMinor, p.currency),
    currency: p.currency,
    credits: formatMoney(p.creditsMicros),
    status: p.status,
    source: p.source,
    duplicate_order: p.duplicateOrder,
    inviter_account_id: p.inviterAccountId,
    commission: p.commissionMicros === null ? null : formatMoney(p.commissionMicros),
    created_at: p.createdAt.toISOString(),
    refunded_at: p.refundedAt?.toISOString() ?? null,
    refunded_by: p.refundedBy,
  };
}

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

/** Admin: orders and payments, refunds (manual and /paysupport requests), reconciliation report. */
export function createAdminPaymentsRoutes(deps: AppDeps) {
  const app = createRouter();
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
      const rows = await listOrders(deps.db, { accountId: q.account_id, status: q.status, provider: q.provider, before: q.before ? new Date(q.before) : undefined, limit: q.limit });
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
      const rows = await listPayments(deps.db, { accountId: q.account_id, status: q.status, provider: q.provider, before: q.before ? new Date(q.before) : undefined, limit: q.limit });
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
        throw new AppError("conflict", `The account has already spent this credit: available ${formatMoney(r.availableMicros)}, refund ${formatMoney(r.neededMicros)}`, {
          details: { available: formatMoney(r.availableMicros), needed: formatMoney(r.neededMicros) },
        });
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

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/payments/refund-requests",
      tags: ["Admin: payments"],
      summary: "Refund requests made with the bot's /paysupport",
      security: adminSecurity,
      request: { query: z.object({ status: z.enum(["requested", "done", "rejected", "failed"]).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: {
        200: json(
          z.object({
            data: z.array(
              z.object({ id: z.string(), payment_id: z.string(), account_id: z.string(), telegram_id: z.number().nullable(), status: z.string(), note: z.string().nullable(), created_at: z.string(), resolved_at: z.string().nullable(), resolved_by: z.string().nullable() }),
            ),
          }),
          "Newest first; approve with POST /admin/payments/{payment_id}/refund",
        ),
        401: err("Not admin"),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const rows = await listRefundRequests(deps.db, { status: q.status, limit: q.limit });
      return c.json(
        {
          data: rows.map((r) => ({
            id: r.id,
            payment_id: r.paymentId,
            account_id: r.accountId,
            telegram_id: r.telegramId,
            status: r.status,
            note: r.note,
            created_at: r.createdAt.toISOString(),
            resolved_at: r.resolvedAt?.toISOString() ?? null,
            resolved_by: r.resolvedBy,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/payments/refund-requests/{id}/reject",
      tags: ["Admin: payments"],
      summary: "Close a /paysupport refund request without refunding",
      security: adminSecurity,
      request: { params: z.object({ id: z.string() }), body: { content: { "application/json": { schema: z.object({ note: z.string().max(500).optional() }) } }, required: false } },
      responses: { 200: json(z.object({ id: z.string(), status: z.string() }), "Rejected"), 404: err("No open request with this id") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = (await c.req.json().catch(() => ({}))) as { note?: unknown };
      const note = typeof body?.note === "string" ? body.note.slice(0, 500) : null;
      const actor = c.get("actor");
      const r = await deps.db.transaction(async (tx) => {
        const x = await rejectRefundRequest(tx, id, actor, note);
        if (x) await writeAudit(tx, { actor, action: "refund_request.reject", targetType: "refund_request", targetId: id, before: x.before, after: x.after });
        return x;
      });
      if (!r) throw new AppError("not_found", `No open refund request ${id}`);
      return c.json({ id, status: r.after.status }, 200);
    },
  );

  const Report = z
    .object({
      consistency: z.object({
        credited_without_ledger: z.number(),
        refunded_without_ledger: z.number(),
        refunds_in_flight: z.number(),
        unresolved_anomalies: z.number(),
        open_refund_requests: z.number(),
        orders_by_status: z.record(z.string(), z.number()),
      }),
      stars: z.record(z.string(), z.unknown()).nullable().openapi({ description: "Last getStarTransactions reconciliation run" }),
      anomalies: z.array(z.object({ id: z.string(), provider: z.string(), ref: z.string(), reason: z.string(), details: z.unknown(), created_at: z.string() })),
    })
    .openapi("PaymentsReconciliationReport");

  const report = async () => {
    const k = await paymentsConsistency(deps.db);
    const anomalies = await listAnomalies(deps.db, { unresolvedOnly: true, limit: 100 });
    return {
      consistency: {
        credited_without_ledger: k.creditedWithoutLedger,
        refunded_without_ledger: k.refundedWithoutLedger,
        refunds_in_flight: k.refundsInFlight,
        unresolved_anomalies: k.unresolvedAnomalies,
        open_refund_requests: k.openRefundRequests,
        orders_by_status: k.ordersByStatus,
      },
      stars: ((await lastStarsReconcileReport(deps.db)) ?? null) as Record<string, unknown> | null,
      anomalies: anomalies.map((a) => ({ id: a.id, provider: a.provider, ref: a.ref, reason: a.reason, details: a.details, created_at: a.createdAt.toISOString() })),
    };
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/payments/reconciliation",
      tags: ["Admin: payments"],
      summary: "Reconciliation report: ledger consistency, last Stars reconciliation, open anomalies",
      security: adminSecurity,
      responses: { 200: json(Report, "Report"), 401: err("Not admin") },
    }),
    async (c) => c.json(await report(), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/payments/reconciliation/run",
      tags: ["Admin: payments"],
      summary: "Run a reconciliation pass now (getStarTransactions, pending YooKassa payments) and report",
      security: adminSecurity,
      responses: { 200: json(Report, "Report after the run"), 401: err("Not admin"), 404: err("No Telegram bot in this gateway") },
    }),
    async (c) => {
      const tg = rt().telegram;
      if (!tg) throw new AppError("not_found", "Telegram bot is not enabled; nothing to reconcile");
      const actor = c.get("actor");
      const run = await tg.reconcileNow();
      await deps.db.transaction((tx) =>
        writeAudit(tx, {
          actor,
          action: "payments.reconcile",
          targetType: "payments",
          after: { credited: run.stars?.credited ?? [], refunded: run.stars?.refunded ?? [], rejected: run.stars?.rejected ?? [] },
        }),
      );
      return c.json(await report(), 200);
    },
  );
  return app;
}
