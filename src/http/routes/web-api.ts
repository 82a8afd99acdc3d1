import { createRoute, z } from "@hono/zod-openapi";
import { formatMoney } from "../../core/money.js";
import type { AppDeps } from "../deps.js";
import { createRouter } from "../router.js";
import { WEB_APP_BASE } from "./web-app.js";

const Package = z.object({
  id: z.string(),
  provider: z.enum(["tg_stars", "tg_provider"]),
  currency: z.enum(["XTR", "RUB"]),
  amount: z.string().openapi({ description: "Whole Stars for XTR, rubles for RUB" }),
  credits: z.string().openapi({ description: "What it adds to the balance, in the account currency" }),
});

const WebConfig = z
  .object({
    base_path: z.string(),
    currency: z.string().openapi({ example: "RUB" }),
    timezone: z.string().openapi({ description: "The time zone days and months are counted in (BILLING_TIMEZONE)", example: "Europe/Moscow" }),
    registration_enabled: z.boolean(),
    telegram: z.object({
      login: z.boolean().openapi({ description: "Telegram login is configured (bot token present)" }),
      bot_username: z.string().nullable(),
      widget_bot_id: z
        .string()
        .nullable()
        .openapi({ description: "The bot's numeric id for the Telegram Login Widget on the login page (null: no widget; the bot's username is needed too)" }),
    }),
    payments: z.object({
      yookassa: z.object({ enabled: z.boolean(), min_amount: z.string().nullable(), max_amount: z.string().nullable() }),
      stars: z.object({ enabled: z.boolean(), packages: z.array(Package) }),
    }),
  })
  .openapi("WebConfig");

function botUsername(deps: AppDeps): string | null {
  return deps.settings.telegram.botUsername?.replace(/^@/, "") ?? null;
}

/** The Login Widget needs the bot's id: the public part of its token before the colon (the bot's user id). */
export function widgetBotId(settings: AppDeps["settings"]): string | null {
  const token = settings.telegram.botToken;
  if (!token || !settings.telegram.botUsername) return null;
  return /^(\d{1,20}):/.exec(token)?.[1] ?? null;
}

/** What the web app needs before anyone logs in: no secrets, nothing per account. */
export function createWebApiRoutes(deps: AppDeps) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/web/config",
      tags: ["Web app"],
      summary: "Public settings the web app reads at start (currency, time zone, login and top-up options)",
      responses: { 200: { content: { "application/json": { schema: WebConfig } }, description: "Settings" } },
    }),
    (c) => {
      const cfg = deps.payments.cfg;
      const yk = cfg.yookassa;
      return c.json(
        {
          base_path: WEB_APP_BASE,
          currency: deps.settings.currency,
          timezone: deps.settings.billingTimezone,
          registration_enabled: deps.settings.registrationEnabled,
          telegram: { login: Boolean(deps.settings.telegram.botToken), bot_username: botUsername(deps), widget_bot_id: widgetBotId(deps.settings) },
          payments: {
            yookassa: { enabled: yk !== null, min_amount: yk ? formatMoney(yk.minAmountMinor * 10_000n) : null, max_amount: yk ? formatMoney(yk.maxAmountMinor * 10_000n) : null },
            stars: {
              enabled: Boolean(deps.settings.telegram.botToken),
              packages: [...cfg.starPackages, ...cfg.rubPackages].map((p) => ({
                id: p.id,
                provider: p.provider,
                currency: p.currency,
                amount: p.currency === "XTR" ? p.amountMinor.toString() : formatMoney(p.amountMinor * 10_000n),
                credits: formatMoney(p.creditsMicros),
              })),
            },
          },
        },
        200,
      );
    },
  );
  return app;
}
