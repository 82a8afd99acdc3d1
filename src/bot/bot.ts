import { Bot } from "grammy";
import { registerCommandHandlers } from "./commands.js";
import type { BotContext, BotDeps } from "./deps.js";
import { registerPaymentUpdates } from "./payment-updates.js";

export type { BotContext } from "./deps.js";
export { registerCommands } from "./commands.js";
export { createWebInvoiceLink } from "./invoices.js";
export { lowBalanceMessage, referralCommissionNotifier } from "./notices.js";

/** The updates the bot handles; set explicitly on setWebhook/getUpdates (omitting it keeps an old, possibly narrower list). */
export const ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query"] as const;

/**
 * The Telegram front end. Like an HTTP route it only parses, calls payments/accounts/keys verbs and
 * renders a reply. Payment handlers are registered first so nothing registered later (a text
 * fallback, a future conversation) can swallow a successful_payment or a pre_checkout_query.
 */
export function createBot(deps: BotDeps): Bot<BotContext> {
  const bot = new Bot<BotContext>(deps.token, {
    botInfo: deps.botInfo,
    client: deps.apiRoot ? { apiRoot: deps.apiRoot.replace(/\/+$/, "") } : undefined,
  });
  registerPaymentUpdates(bot, deps);
  registerCommandHandlers(bot, deps);
  bot.catch((err) => {
    deps.logger.error({ err: err.error, updateId: err.ctx.update.update_id }, "bot update failed");
  });
  return bot;
}
