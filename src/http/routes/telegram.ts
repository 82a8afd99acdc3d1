import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../core/errors.js";
import type { AppDeps } from "../deps.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

const SECRET_HEADER = "x-telegram-bot-api-secret-token";
const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });

/**
 * `POST /telegram/webhook`: Telegram's update delivery. The secret header is checked (constant
 * time) before the body is parsed; malformed updates are acknowledged with 200 so Telegram does not
 * retry them for 24 h; a transient failure answers 503 so it does.
 */
export function createTelegramRoutes(deps: AppDeps) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: "post",
      path: "/telegram/webhook",
      tags: ["Telegram"],
      summary: "Telegram Bot API webhook (updates)",
      description: "Called by Telegram only. Requires `X-Telegram-Bot-Api-Secret-Token` = TELEGRAM_WEBHOOK_SECRET.",
      responses: {
        200: { description: "Update accepted (also for malformed updates, which are logged)" },
        401: err("Missing or wrong secret token"),
        404: err("The bot is not running in this gateway"),
        503: err("Temporary failure; Telegram redelivers"),
      },
    }),
    async (c) => {
      const tg = deps.payments.telegram;
      if (!tg) throw new AppError("not_found", "Telegram bot is not enabled");
      const r = await tg.webhook({ secretHeader: c.req.header(SECRET_HEADER), body: await c.req.text() });
      if (r.status === 401) throw new AppError("invalid_token", "Wrong or missing X-Telegram-Bot-Api-Secret-Token");
      if (r.status === 500) throw new AppError("service_unavailable", "Update could not be processed now; retry");
      return c.body(null, 200);
    },
  );
  return app;
}
