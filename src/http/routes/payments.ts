import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, eq } from "drizzle-orm";
import { AppError } from "../../core/errors.js";
import { formatMoney } from "../../core/money.js";
import { accounts, paymentOrders } from "../../db/schema/index.js";
import { sourceIp } from "../../payments/ip-allowlist.js";
import { parseKopecks } from "../../payments/rub.js";
import { createWebTopup, handleYooKassaNotification } from "../../payments/yookassa.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { principalAuth, principalOf } from "../middleware/session-auth.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";
import { clientOrderOut } from "../views/payments.js";

const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });

const CreateTopup = z
  .object({
    amount: z.string().regex(/^\d{1,9}(\.\d{1,2})?$/, 'rubles as a decimal string, e.g. "500.00"').openapi({ example: "500.00" }),
    return_url: z.url().optional().openapi({ description: "Where YooKassa sends the payer back; default YOOKASSA_RETURN_URL" }),
    account_id: z.string().optional().openapi({ description: "Admin only: the account to top up" }),
  })
  .openapi("CreateTopupRequest");

const Topup = z
  .object({
    order_id: z.string(),
    payment_id: z.string(),
    confirmation_url: z.string().openapi({ description: "Redirect the payer here" }),
    amount: z.string(),
    currency: z.literal("RUB"),
    credits: z.string().openapi({ description: "What the account is credited once paid, account currency" }),
  })
  .openapi("Topup");

const Order = z
  .object({
    id: z.string(),
    provider: z.string(),
    status: z.string(),
    amount: z.string(),
    currency: z.string(),
    credits: z.string(),
    created_at: z.string(),
    paid_at: z.string().nullable(),
  })
  .openapi("PaymentOrder");

/** Dashboard top-up through YooKassa and its notification endpoint. */
export function createPaymentsRoutes(deps: AppDeps) {
  const app = createRouter();
  const rt = () => deps.payments;

  app.use("/v1/payments/*", principalAuth(deps));

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/payments/yookassa",
      tags: ["Payments"],
      summary: "Start a RUB top-up with YooKassa (redirect confirmation)",
      security: [{ bearerAuth: [] }],
      request: { body: { content: { "application/json": { schema: CreateTopup } }, required: true } },
      responses: {
        201: { content: { "application/json": { schema: Topup } }, description: "Redirect the payer to confirmation_url" },
        400: err("Invalid amount"),
        401: err("Not logged in"),
        503: err("Web top-up not configured or YooKassa unavailable"),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const p = principalOf(c);
      const r = rt();
      if (!r.yookassa) throw new AppError("service_unavailable", "Web top-up is not configured (YOOKASSA_SHOP_ID / YOOKASSA_SECRET_KEY)");
      let accountId = p.accountId;
      if (p.role === "admin" && body.account_id) accountId = body.account_id;
      if (!accountId) throw new AppError("invalid_request", "account_id is required", { param: "account_id" });
      const [a] = await deps.db.select({ status: accounts.status }).from(accounts).where(eq(accounts.id, accountId));
      if (!a) throw new AppError("not_found", `No account ${accountId}`, { param: "account_id" });
      if (a.status !== "active") throw new AppError("account_blocked", "This account is blocked");
      const t = await createWebTopup(deps.db, r.yookassa, r.cfg, { accountId, userId: p.userId, amountKopecks: parseKopecks(body.amount), returnUrl: body.return_url ?? null }, deps.clock);
      c.get("logger").info({ orderId: t.orderId, paymentId: t.paymentId, accountId, actor: p.actor }, "yookassa top-up started");
      return c.json(
        { order_id: t.orderId, payment_id: t.paymentId, confirmation_url: t.confirmationUrl, amount: t.amount, currency: "RUB" as const, credits: formatMoney(t.creditsMicros) },
        201,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/payments/orders/{id}",
      tags: ["Payments"],
      summary: "A top-up order of the caller's account (poll after the redirect back)",
      security: [{ bearerAuth: [] }],
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: { content: { "application/json": { schema: Order } }, description: "The order" }, 401: err("Not logged in"), 404: err("No such order") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const p = principalOf(c);
      const cond = p.role === "admin" && p.accountId === null ? eq(paymentOrders.id, id) : and(eq(paymentOrders.id, id), eq(paymentOrders.accountId, p.accountId ?? ""));
      const [o] = await deps.db.select().from(paymentOrders).where(cond);
      if (!o) throw new AppError("not_found", `No order ${id}`);
      return c.json(clientOrderOut(o), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/payments/yookassa/webhook",
      tags: ["Payments"],
      summary: "YooKassa HTTP notifications",
      description: "Accepted only from YooKassa's IP ranges; the payment is then fetched back by id and only that answer counts.",
      responses: {
        200: { description: "Handled (credited, duplicate, or nothing to do)" },
        400: err("Malformed notification"),
        403: err("Sender is not in the YooKassa IP allowlist"),
        503: err("Could not verify with YooKassa; retry"),
      },
    }),
    async (c) => {
      const r = rt();
      if (!r.yookassa) throw new AppError("not_found", "Web top-up is not configured");
      // Behind TRUSTED_PROXIES clientIp() already is the notifier's address; the hop count is the older way.
      const ip = sourceIp(clientIp(c as unknown as Context<AppEnv>), c.req.header("x-forwarded-for"), deps.settings.trustedProxies.length ? 0 : r.cfg.yookassa!.trustedProxyHops);
      // Authenticate before reading the body.
      if (!r.allowlist.has(ip)) {
        c.get("logger").warn({ ip }, "yookassa notification from a foreign address refused");
        throw new AppError("ip_not_allowed", "Notification source is not allowed");
      }
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new AppError("invalid_json", "Notification body is not JSON");
      }
      const out = await handleYooKassaNotification(deps.db, r.yookassa, r.cfg, { sourceIp: ip, body }, r.allowlist, r.notices);
      c.get("logger").info({ ip, outcome: out.status }, "yookassa notification");
      return c.json({ status: out.status }, 200);
    },
  );
  return app;
}
