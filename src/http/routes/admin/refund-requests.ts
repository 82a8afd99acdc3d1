import { createRoute, z } from "@hono/zod-openapi";
import { writeAudit } from "../../../audit/index.js";
import { AppError } from "../../../core/errors.js";
import { listRefundRequests, rejectRefundRequest } from "../../../payments/admin.js";
import type { AppDeps } from "../../deps.js";
import { errorResponse as err, json, SECURITY } from "../../openapi.js";
import { createRouter } from "../../router.js";

/** Admin: refund requests made with the bot's /paysupport (approved through the payment's refund route). */
export function createAdminRefundRequestRoutes(deps: AppDeps) {
  const app = createRouter();
  const adminSecurity = SECURITY.admin;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/payments/refund-requests",
      tags: ["Admin: payments"],
      summary: "Refund requests made with the bot's /paysupport",
      security: adminSecurity,
      request: {
        query: z.object({
          status: z.enum(["requested", "done", "rejected", "failed"]).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      responses: {
        200: json(
          z.object({
            data: z.array(
              z.object({
                id: z.string(),
                payment_id: z.string(),
                account_id: z.string(),
                telegram_id: z.number().nullable(),
                status: z.string(),
                note: z.string().nullable(),
                created_at: z.string(),
                resolved_at: z.string().nullable(),
                resolved_by: z.string().nullable(),
              }),
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
      request: {
        params: z.object({ id: z.string() }),
        body: { content: { "application/json": { schema: z.object({ note: z.string().max(500).optional() }) } }, required: false },
      },
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
  return app;
}
