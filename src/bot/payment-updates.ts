import type { Bot, Context } from "grammy";
import { creditPayment } from "../payments/credit.js";
import { validatePreCheckout, type PreCheckoutResult } from "../payments/orders.js";
import { applyRefund } from "../payments/refunds.js";
import type { BotContext, BotDeps } from "./deps.js";
import { money as formatMoney, paid as formatPaid, t } from "./i18n.js";
import { referralCommissionNotifier } from "./notices.js";
import { langOf } from "./sender.js";

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}

/** Pre-checkout answers, credited payments and refunds: registered before anything else (bot.ts says why). */
export function registerPaymentUpdates(bot: Bot<BotContext>, deps: BotDeps): void {
  const { db, payments: cfg, clock, logger } = deps;
  const cur = cfg.accountCurrency;
  const money = (micros: bigint, currency: string, ctx: Context) => formatMoney(micros, currency, langOf(ctx));
  const paid = (amount: bigint | number, currency: string, ctx: Context) => formatPaid(amount, currency, langOf(ctx));

  bot.on("pre_checkout_query", async (ctx) => {
    const q = ctx.preCheckoutQuery;
    let r: PreCheckoutResult;
    try {
      r = await withTimeout(
        validatePreCheckout(db, { payload: q.invoice_payload, currency: q.currency, totalAmount: q.total_amount, fromId: q.from.id }, clock),
        deps.preCheckoutTimeoutMs ?? 3000,
      );
    } catch (e) {
      logger.error({ err: e, preCheckoutId: q.id }, "pre-checkout validation failed");
      r = { ok: false, reason: "internal_error" };
    }
    if (r.ok) {
      await ctx.answerPreCheckoutQuery(true);
    } else {
      logger.info({ orderId: q.invoice_payload, reason: r.reason, from: q.from.id }, "pre-checkout refused");
      await ctx.answerPreCheckoutQuery(false, t(langOf(ctx)).preCheckout[r.reason]);
    }
  });

  bot.on("message:successful_payment", async (ctx) => {
    const sp = ctx.message.successful_payment;
    const r = await creditPayment(
      db,
      {
        provider: sp.currency === "XTR" ? "tg_stars" : "tg_provider",
        providerPaymentId: sp.telegram_payment_charge_id,
        providerChargeId: sp.provider_payment_charge_id || null,
        orderId: sp.invoice_payload,
        payerTelegramId: ctx.from.id,
        currency: sp.currency,
        amountMinor: BigInt(sp.total_amount),
        source: "update",
      },
      { ...deps.creditNotices, referralBasisPoints: cfg.referralBasisPoints, onReferralCommission: referralCommissionNotifier(db, ctx.api, cur, logger) },
    );
    const tx = t(langOf(ctx));
    if (r.status === "credited") {
      logger.info({ paymentId: r.paymentId, orderId: r.orderId, accountId: r.accountId, credits: r.creditsMicros.toString() }, "telegram payment credited");
      await ctx.reply(tx.paymentCredited(money(r.creditsMicros, cur, ctx), money(r.balanceAfterMicros, cur, ctx)));
    } else if (r.status === "rejected") {
      logger.warn({ chargeId: sp.telegram_payment_charge_id, orderId: sp.invoice_payload, reason: r.reason }, "telegram payment not credited");
      await ctx.reply(tx.paymentUnmatched);
    }
    // duplicate: already credited and confirmed once; stay silent.
  });

  bot.on("message:refunded_payment", async (ctx) => {
    const rp = ctx.message.refunded_payment;
    const r = await applyRefund(db, {
      provider: rp.currency === "XTR" ? "tg_stars" : "tg_provider",
      providerPaymentId: rp.telegram_payment_charge_id,
      actor: `telegram:${ctx.from.id}`,
      source: "update",
    });
    if (r.status === "refunded") {
      await ctx.reply(t(langOf(ctx)).refunded(paid(rp.total_amount, rp.currency, ctx), money(r.debitedMicros, cur, ctx), money(r.balanceAfterMicros ?? 0n, cur, ctx)));
    }
  });
}
