import type { StarTransaction } from "grammy/types";
import type { RefundGateway } from "./refunds.js";

/** The two Bot API methods the payments domain needs; grammY's `bot.api` satisfies it. */
export interface StarsApi {
  refundStarPayment(userId: number, telegramPaymentChargeId: string): Promise<true>;
  getStarTransactions(other?: { offset?: number; limit?: number }): Promise<{ transactions: StarTransaction[] }>;
}

/** refundStarPayment; CHARGE_ALREADY_REFUNDED counts as done (tdlib/telegram-bot-api#690). */
export function starsRefundGateway(api: StarsApi): RefundGateway {
  return {
    async refund(p) {
      if (p.payerTelegramId == null) return { ok: false, error: "payment has no Telegram payer" };
      try {
        await api.refundStarPayment(p.payerTelegramId, p.providerPaymentId);
        return { ok: true };
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (msg.includes("CHARGE_ALREADY_REFUNDED")) return { ok: true };
        return { ok: false, error: msg };
      }
    },
  };
}
