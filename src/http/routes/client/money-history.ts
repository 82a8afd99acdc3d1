import { createRoute, z } from "@hono/zod-openapi";
import { ledgerHistory } from "../../../billing/ledger-history.js";
import { formatMoney } from "../../../core/money.js";
import { orderHistory } from "../../../payments/order-history.js";
import { referralStats } from "../../../payments/referrals.js";
import { invitees } from "../../../payments/referral-history.js";
import type { AppDeps } from "../../deps.js";
import { SECURITY, errorResponse as err, json } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { clientOrderOut } from "../../views/payments.js";
import { WEB_APP_BASE } from "../web-app.js";
import { accountAuthOnce, Money, Page } from "./account-shared.js";

const LedgerItem = z
  .object({ id: z.string(), kind: z.string(), amount: Money, balance_after: Money, reason: z.string().nullable(), ref: z.string(), created_at: z.string() })
  .openapi("LedgerEntry");

const OrderItem = z
  .object({
    id: z.string(),
    provider: z.string(),
    status: z.string(),
    amount: z.string().openapi({ description: "Rubles for RUB, whole Stars for XTR" }),
    currency: z.string(),
    credits: Money,
    created_at: z.string(),
    paid_at: z.string().nullable(),
  })
  .openapi("PaymentOrderItem");

const Referrals = z
  .object({
    code: z.string(),
    web_link: z.string().openapi({ description: "Sign-up link with the code (relative when PUBLIC_URL is unset)" }),
    bot_link: z.string().nullable(),
    percent: z.string().openapi({ description: "Commission on each payment of an invitee", example: "10" }),
    invitees: z.number().int(),
    earned: Money,
    currency: z.string(),
    invited: z.array(z.object({ account_id: z.string(), label: z.string(), joined_at: z.string(), earned: Money })),
    commissions: z.array(LedgerItem),
  })
  .openapi("Referrals");

/** The customer's money history: the ledger, top-up orders, and referrals with their commissions. */
export function createClientMoneyHistoryRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.bearer;
  const once = accountAuthOnce(deps);
  for (const p of ["/v1/client/ledger", "/v1/client/payments", "/v1/client/referrals"]) app.use(p, once);
  const cur = deps.settings.currency;
  const ledgerJson = (r: Awaited<ReturnType<typeof ledgerHistory>>["rows"][number]) => ({
    id: r.id,
    kind: r.kind,
    amount: formatMoney(r.amountMicros),
    balance_after: formatMoney(r.balanceAfterMicros),
    reason: r.reason,
    ref: r.ref,
    created_at: r.createdAt.toISOString(),
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/ledger",
      tags: ["Client"],
      summary: "Every balance change of the account with its reason, newest first",
      security,
      request: { query: z.object(Page) },
      responses: {
        200: json(z.object({ currency: z.string(), data: z.array(LedgerItem), next_cursor: z.string().nullable() }).openapi("Ledger"), "A page"),
        401: err("Not authenticated"),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await ledgerHistory(deps.db, c.get("auth").accountId, { limit: q.limit, cursor: q.cursor });
      return c.json({ currency: cur, data: page.rows.map(ledgerJson), next_cursor: page.next }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/payments",
      tags: ["Client"],
      summary: "The account's top-up orders (YooKassa, Telegram Stars) with their statuses, newest first",
      security,
      request: { query: z.object(Page) },
      responses: {
        200: json(z.object({ data: z.array(OrderItem), next_cursor: z.string().nullable() }).openapi("PaymentOrders"), "A page"),
        401: err("Not authenticated"),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await orderHistory(deps.db, c.get("auth").accountId, { limit: q.limit, cursor: q.cursor });
      return c.json(
        {
          data: page.rows.map(clientOrderOut),
          next_cursor: page.next,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/referrals",
      tags: ["Client"],
      summary: "The invite link, invited accounts and commissions earned",
      security,
      responses: { 200: json(Referrals, "Referrals"), 401: err("Not authenticated") },
    }),
    async (c) => {
      const accountId = c.get("auth").accountId;
      const [stats, invited, ledger] = await Promise.all([
        referralStats(deps.db, accountId),
        invitees(deps.db, accountId),
        ledgerHistory(deps.db, accountId, { limit: 200, kinds: ["referral_bonus", "referral_reversal"] }),
      ]);
      const bps = deps.payments.cfg.referralBasisPoints;
      const bot = deps.settings.telegram.botUsername?.replace(/^@/, "");
      const origin = deps.settings.publicUrl?.replace(/\/+$/, "") ?? "";
      return c.json(
        {
          code: stats.code,
          web_link: `${origin}${WEB_APP_BASE}/signup?ref=${stats.code}`,
          bot_link: bot ? `https://t.me/${bot}?start=ref_${stats.code}` : null,
          percent: formatMoney(bps * 10_000n, 0),
          invitees: stats.invitees,
          earned: formatMoney(stats.earnedMicros),
          currency: cur,
          invited: invited.map((i) => ({ account_id: i.accountId, label: i.label, joined_at: i.joinedAt.toISOString(), earned: formatMoney(i.earnedMicros) })),
          commissions: ledger.rows.map(ledgerJson),
        },
        200,
      );
    },
  );

  return app;
}
