import { createRoute, z } from "@hono/zod-openapi";
import { writeAudit } from "../../../audit/index.js";
import { AppError } from "../../../core/errors.js";
import { listAnomalies, paymentsConsistency } from "../../../payments/admin.js";
import { lastStarsReconcileReport } from "../../../payments/stars-reconcile.js";
import type { AppDeps } from "../../deps.js";
import { errorResponse as err, json, SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";

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

/** Admin: the payments reconciliation report (ledger consistency, Stars reconciliation, anomalies) and a run on demand. */
export function createAdminReconciliationRoutes(deps: AppDeps) {
  const app = createRouter();
  const adminSecurity = SECURITY.admin;
  const rt = () => deps.payments;

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
      anomalies: anomalies.map((a) => ({
        id: a.id,
        provider: a.provider,
        ref: a.ref,
        reason: a.reason,
        details: a.details,
        created_at: a.createdAt.toISOString(),
      })),
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
