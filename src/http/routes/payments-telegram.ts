import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { startTelegramLink } from "../../accounts/telegram-login.js";
import { AppError } from "../../core/errors.js";
import { users } from "../../db/schema/index.js";
import { defineRoutes, route } from "../define-routes.js";
import type { AppDeps } from "../deps.js";
import { sessionAuth, principalOf } from "../middleware/session-auth.js";
import { body, errorResponses, json, SECURITY } from "../openapi.js";
import { createRouter } from "../router.js";

const PATH = "/v1/payments/telegram/link";

const TelegramLinkRequest = z
  .object({
    package_id: z.string().min(1).max(16).openapi({ description: "A package from /v1/web/config payments.stars.packages", example: "s100" }),
    locale: z.enum(["ru", "en"]).optional().openapi({ description: "Language of the invoice's texts (default: the user's)" }),
  })
  .openapi("TelegramPaymentLinkRequest");

const TelegramLink = z
  .object({
    kind: z.enum(["invoice", "link_telegram"]).openapi({
      description:
        "`invoice`: open `url` (t.me/$…) to pay the package in Telegram; it is payable by the user's linked Telegram account only, until `expires_at`. `link_telegram`: this user has no Telegram linked yet; open `url` (the bot's deep link, or send `/start <start_param>` to the bot) to link it, then ask again.",
    }),
    url: z.string().nullable().openapi({ description: "Null only for link_telegram when the bot's username is not configured" }),
    order_id: z.string().nullable().openapi({ description: "The order the invoice pays (GET /v1/payments/orders/{id} follows it)" }),
    start_param: z.string().nullable(),
    expires_at: z.string(),
  })
  .openapi("TelegramPaymentLink");

/**
 * Paying from the web page through Telegram: a Stars (or provider) invoice link bound to the user's
 * linked Telegram account, made by the running bot with createInvoiceLink; without a linked account
 * the answer is the bot's link-this-account deep link instead, so the payment lands on this account.
 */
export function createTelegramPaymentLinkRoutes(deps: AppDeps) {
  const app = createRouter();
  app.use(PATH, sessionAuth(deps));
  defineRoutes(app, { tag: "Payments", security: SECURITY.bearer, errors: ["missing_api_key", "invalid_api_key"] }, [
    route(
      {
        method: "post",
        path: PATH,
        summary: "A Telegram payment link for a top-up package (or the deep link that links Telegram first)",
        request: body(TelegramLinkRequest),
        responses: {
          201: json(TelegramLink, "A payment link, or the link-Telegram step"),
          ...errorResponses("invalid_request", "missing_api_key", "invalid_api_key", "service_unavailable"),
        },
      },
      async (c) => {
        const p = principalOf(c);
        const req = c.req.valid("json");
        const hooks = deps.payments.telegram;
        if (!hooks) throw new AppError("service_unavailable", "Paying through Telegram needs the gateway's Telegram bot running (TELEGRAM_BOT_TOKEN)");
        if (!p.userId || !p.accountId) throw new AppError("missing_api_key", "Log in first");
        const [user] = await deps.db.select({ telegramId: users.telegramId, locale: users.locale }).from(users).where(eq(users.id, p.userId)).limit(1);
        if (!user) throw new AppError("missing_api_key", "Log in first");
        if (user.telegramId === null) {
          const st = await startTelegramLink(deps.db, p.userId, { ttlSec: deps.settings.telegram.deepLinkTtlSec, nowMs: deps.clock.now() });
          const bot = deps.settings.telegram.botUsername?.replace(/^@/, "");
          return c.json(
            { kind: "link_telegram" as const, url: bot ? `https://t.me/${bot}?start=${st.startParam}` : null, order_id: null, start_param: st.startParam, expires_at: st.expiresAt.toISOString() },
            201,
          );
        }
        let r: Awaited<ReturnType<typeof hooks.invoiceLink>>;
        try {
          r = await hooks.invoiceLink({ accountId: p.accountId, userId: p.userId, telegramId: user.telegramId, packageId: req.package_id, locale: req.locale ?? user.locale ?? null });
        } catch (e) {
          deps.logger.error({ err: e, accountId: p.accountId, packageId: req.package_id }, "telegram payment link failed");
          throw new AppError("service_unavailable", "Telegram did not make the payment link; try again in a minute");
        }
        if (!r.ok) throw new AppError("invalid_request", `No top-up package "${req.package_id}"`, { param: "package_id" });
        return c.json({ kind: "invoice" as const, url: r.url, order_id: r.orderId, start_param: null, expires_at: r.expiresAt.toISOString() }, 201);
      },
    ),
  ]);
  return app;
}
