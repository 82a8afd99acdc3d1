import { Api, Bot, InlineKeyboard, type Context } from "grammy";
import type { User, UserFromGetMe } from "grammy/types";
import { confirmDeepLinkLogin, confirmTelegramLink, parseStartPayload, type TelegramIdentity } from "../accounts/telegram-login.js";
import { accountTelegramChats, confirmedEmail, findOrCreateTelegramAccount, listAccountKeys, type TelegramAccount, type TelegramUserInfo } from "../accounts/telegram-user.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { createApiKey as defaultCreateApiKey, maskKey } from "../keys/index.js";
import { findPackage, type PaymentsConfig, type TopupPackage } from "../payments/config.js";
import { creditPayment, type CreditNotices, type ReferralCommissionNotice } from "../payments/credit.js";
import { cancelOrder, createTelegramOrder, validatePreCheckout, type PreCheckoutResult } from "../payments/orders.js";
import { referralStats } from "../payments/referrals.js";
import { applyRefund } from "../payments/refunds.js";
import { balanceSummary, refundablePayments, requestRefund, usageSummary } from "../payments/statements.js";
import { count, day, money as formatMoney, paid as formatPaid, pickLang, t, TEXTS, type Contacts, type Lang } from "./i18n.js";

export type BotContext = Context;

export interface BotDeps {
  db: Db;
  token: string;
  /** Another Bot API server (a local one in production, a fake one in tests). */
  apiRoot?: string;
  /** Known bot info: grammY then never calls getMe (tests, and faster start-up). */
  botInfo?: UserFromGetMe;
  payments: PaymentsConfig;
  clock: Clock;
  logger: Logger;
  createApiKey?: (db: Db, input: { accountId: string; name?: string; userId?: string | null }) => Promise<{ id: string; key: string; start: string }>;
  /** Seconds after which the message carrying a new API key is deleted (BOT_KEY_MESSAGE_TTL_SEC); 0/absent = kept. */
  keyMessageTtlSec?: number;
  /** Telegram answers pre_checkout_query only within 10 s; a slow check gets a fast "no". */
  preCheckoutTimeoutMs?: number;
  maxKeysPerAccount?: number;
  usageDays?: number;
  /** API_BASE_URL (or PUBLIC_URL + /v1) and SUPPORT_CONTACT, shown in /help, hints and after key creation. */
  apiBaseUrl?: string | null;
  supportContact?: string | null;
  /** YooKassa vat_code for 54-FZ receipts on RUB provider invoices (1 = no VAT). */
  receiptVatCode?: number;
  /** Told of every payment the bot credits, beside its own referral notice (the payments runtime's notices). */
  creditNotices?: CreditNotices;
}

/** The updates the bot handles; set explicitly on setWebhook/getUpdates (omitting it keeps an old, possibly narrower list). */
export const ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query"] as const;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}

const userInfo = (u: User): TelegramUserInfo => ({
  id: u.id,
  first_name: u.first_name,
  last_name: u.last_name,
  username: u.username,
  language_code: u.language_code,
});
const identity = (u: User): TelegramIdentity => ({
  id: u.id,
  firstName: u.first_name,
  lastName: u.last_name ?? null,
  username: u.username ?? null,
  languageCode: u.language_code ?? null,
});
const langOf = (ctx: Context): Lang => pickLang(ctx.from?.language_code);

/** The command menu per language (ru, en) and a default (English) for every other language. */
export async function registerCommands(api: Api): Promise<void> {
  await api.setMyCommands(TEXTS.en.menu);
  for (const lang of ["ru", "en"] as const) await api.setMyCommands(TEXTS[lang].menu, { language_code: lang });
}

/** Sends the referral-commission notice to every linked Telegram chat of the inviter. */
export function referralCommissionNotifier(db: Db, api: Api, currency: string, logger: Logger): (n: ReferralCommissionNotice) => Promise<void> {
  return async (n) => {
    const balance = (await balanceSummary(db, n.inviterAccountId, new Date()))?.balanceMicros ?? 0n;
    for (const chat of await accountTelegramChats(db, n.inviterAccountId)) {
      const lang = pickLang(chat.locale);
      await api
        .sendMessage(chat.telegramId, t(lang).commission(formatMoney(n.commissionMicros, currency, lang), formatMoney(balance, currency, lang)))
        .catch((e: unknown) => logger.warn({ err: e, accountId: n.inviterAccountId }, "referral commission notice not delivered"));
    }
  };
}

/** The invoice fields shared by sendInvoice and createInvoiceLink, with a 54-FZ receipt for RUB provider invoices. */
async function invoiceFields(db: Db, cfg: PaymentsConfig, o: { lang: Lang; userId: string | null; pkg: TopupPackage; vatCode?: number }) {
  const { lang, pkg } = o;
  const tx = t(lang);
  const credits = formatMoney(pkg.creditsMicros, cfg.accountCurrency, lang);
  const other: Record<string, unknown> = {};
  if (pkg.provider === "tg_provider") {
    const email = o.userId ? await confirmedEmail(db, o.userId) : null;
    // YooKassa reads `receipt` from provider_data (its own API shape); without a known e-mail
    // Telegram asks for one and passes it to the provider.
    const amount = { value: `${pkg.amountMinor / 100n}.${(pkg.amountMinor % 100n).toString().padStart(2, "0")}`, currency: pkg.currency };
    other.provider_data = JSON.stringify({
      receipt: {
        ...(email ? { customer: { email } } : {}),
        items: [
          {
            // Fiscal printers want plain text: no-break spaces from Intl become ordinary spaces.
            description: tx.receiptItem(credits).replace(/[\u00a0\u202f]/g, " ").slice(0, 128),
            quantity: "1.00",
            amount,
            vat_code: o.vatCode ?? 1,
            payment_subject: "service",
            payment_mode: "full_payment",
          },
        ],
      },
    });
    if (!email) Object.assign(other, { need_email: true, send_email_to_provider: true });
  }
  return {
    title: tx.invoiceTitle,
    description: tx.invoiceDescription(credits, formatPaid(pkg.amountMinor, pkg.currency, lang)),
    prices: [{ label: tx.invoiceLabel, amount: Number(pkg.amountMinor) }],
    providerToken: pkg.provider === "tg_provider" && cfg.providerToken ? cfg.providerToken : "",
    other,
  };
}

export interface WebInvoiceLinkInput {
  accountId: string;
  userId: string;
  /** The payer: the order is payable by this Telegram user only (pre-checkout refuses anyone else). */
  telegramId: number;
  packageId: string;
  /** The web page's language (ru or en; anything else gets English). */
  locale: string | null;
}

export type WebInvoiceLink = { ok: true; url: string; orderId: string; expiresAt: Date } | { ok: false; reason: "unknown_package" };

/**
 * A payment link (t.me/$…) for the web top-up page: the same order and invoice the bot's /paylink
 * makes, bound to the user's linked Telegram id. An order whose link could not be made is canceled.
 */
export async function createWebInvoiceLink(
  api: Pick<Api, "createInvoiceLink">,
  d: { db: Db; payments: PaymentsConfig; clock: Clock; receiptVatCode?: number },
  input: WebInvoiceLinkInput,
): Promise<WebInvoiceLink> {
  const pkg = findPackage(d.payments, input.packageId);
  if (!pkg) return { ok: false, reason: "unknown_package" };
  const order = await createTelegramOrder(d.db, d.payments, { accountId: input.accountId, userId: input.userId, telegramId: input.telegramId, pkg }, d.clock);
  try {
    const inv = await invoiceFields(d.db, d.payments, { lang: pickLang(input.locale), userId: input.userId, pkg, vatCode: d.receiptVatCode });
    const url = await api.createInvoiceLink(inv.title, inv.description, order.id, inv.providerToken, pkg.currency, inv.prices, inv.other);
    return { ok: true, url, orderId: order.id, expiresAt: order.expiresAt };
  } catch (e) {
    await cancelOrder(d.db, order.id, d.clock).catch(() => undefined);
    throw e;
  }
}

/**
 * The Telegram front end. Like an HTTP route it only parses, calls payments/accounts/keys verbs and
 * renders a reply. Payment handlers are registered first so nothing registered later (a text
 * fallback, a future conversation) can swallow a successful_payment or a pre_checkout_query.
 */
export function createBot(deps: BotDeps): Bot<BotContext> {
  const { db, payments: cfg, clock, logger } = deps;
  const cur = cfg.accountCurrency;
  const contacts: Contacts = { apiBase: deps.apiBaseUrl ?? null, support: deps.supportContact ?? null };
  const money = (micros: bigint, currency: string, ctx: Context) => formatMoney(micros, currency, langOf(ctx));
  const paid = (amount: bigint | number, currency: string, ctx: Context) => formatPaid(amount, currency, langOf(ctx));
  const makeKey = deps.createApiKey ?? ((d, i) => defaultCreateApiKey(d, i));
  const bot = new Bot<BotContext>(deps.token, {
    botInfo: deps.botInfo,
    client: deps.apiRoot ? { apiRoot: deps.apiRoot.replace(/\/+$/, "") } : undefined,
  });

  // ---------------------------------------------------------------- payments (first)
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

  // ---------------------------------------------------------------- commands (private chats only)
  const pm = bot.chatType("private");

  /** The sender's account (created on first contact); null after telling a blocked user so. */
  const accountOf = async (ctx: Context): Promise<TelegramAccount | null> => {
    const a = await findOrCreateTelegramAccount(db, userInfo(ctx.from!));
    if (a.accountStatus !== "active" || a.userStatus !== "active") {
      await ctx.reply(t(langOf(ctx)).blocked);
      return null;
    }
    return a;
  };

  const packages = (): TopupPackage[] => [...cfg.starPackages, ...cfg.rubPackages];
  /** The package keyboard; `prefix` "pay" sends an invoice, "link" makes a payment link. */
  const sendPayMenu = async (ctx: Context, prefix: "pay" | "link" = "pay") => {
    const tx = t(langOf(ctx));
    const list = packages();
    if (list.length === 0) return void (await ctx.reply(tx.payNothing));
    const kb = new InlineKeyboard();
    for (const [i, p] of list.entries()) (i ? kb.row() : kb).text(tx.packageButton(paid(p.amountMinor, p.currency, ctx), money(p.creditsMicros, cur, ctx)), `${prefix}:${p.id}`);
    await ctx.reply(prefix === "pay" ? tx.payChoose : tx.payLinkChoose, { reply_markup: kb });
  };

  const invoiceFor = (ctx: Context, a: TelegramAccount, pkg: TopupPackage) => invoiceFields(db, cfg, { lang: langOf(ctx), userId: a.userId, pkg, vatCode: deps.receiptVatCode });

  /**
   * One package button press: the callback is always answered (with the reason on failure) and the
   * chat always gets a next step; an order whose invoice could not be made is canceled.
   */
  const packageButton = async (ctx: Context, pkgId: string, deliver: (a: TelegramAccount, pkg: TopupPackage, orderId: string) => Promise<void>) => {
    const tx = t(langOf(ctx));
    const pkg = findPackage(cfg, pkgId);
    if (!pkg) {
      await ctx.answerCallbackQuery({ text: tx.orderExpired }).catch(() => undefined);
      return void (await ctx.reply(tx.orderExpired));
    }
    let orderId: string | null = null;
    try {
      const a = await findOrCreateTelegramAccount(db, userInfo(ctx.from!));
      if (a.accountStatus !== "active" || a.userStatus !== "active") {
        await ctx.answerCallbackQuery({ text: tx.blocked }).catch(() => undefined);
        return void (await ctx.reply(tx.blocked));
      }
      const order = await createTelegramOrder(db, cfg, { accountId: a.accountId, userId: a.userId, telegramId: ctx.from!.id, pkg }, clock);
      orderId = order.id;
      await deliver(a, pkg, order.id);
      await ctx.answerCallbackQuery().catch(() => undefined);
    } catch (e) {
      logger.error({ err: e, orderId, packageId: pkg.id }, "package button failed");
      if (orderId) await cancelOrder(db, orderId, clock).catch((ce: unknown) => logger.error({ err: ce, orderId }, "cancel after failed invoice failed"));
      await ctx.answerCallbackQuery({ text: tx.tryLater }).catch(() => undefined);
      await ctx.reply(tx.invoiceFailed(contacts)).catch(() => undefined);
    }
  };

  pm.command("start", async (ctx) => {
    const tx = t(langOf(ctx));
    const payload = ctx.match.trim();
    const dl = parseStartPayload(payload);
    if (dl?.kind === "login") {
      const r = await confirmDeepLinkLogin(db, dl.nonce, identity(ctx.from), clock.now());
      return void (await ctx.reply(r.ok ? tx.loginOk : tx.loginFailed[r.reason]));
    }
    if (dl?.kind === "link") {
      const r = await confirmTelegramLink(db, dl.nonce, identity(ctx.from), clock.now());
      return void (await ctx.reply(r.ok ? tx.linkOk : tx.linkFailed[r.reason]));
    }
    const ref = /^ref_([A-Za-z0-9]{8,32})$/.exec(payload)?.[1] ?? null;
    const a = await findOrCreateTelegramAccount(db, userInfo(ctx.from), { referralCode: ref });
    if (a.accountStatus !== "active" || a.userStatus !== "active") return void (await ctx.reply(tx.blocked));
    const name = ctx.from.first_name || ctx.from.username || String(ctx.from.id);
    const lines = [a.created ? tx.welcomeNew(name) : tx.welcomeBack(name)];
    if (a.created && a.referredBy) lines.push(tx.invitedBy);
    lines.push("", tx.commands);
    await ctx.reply(lines.join("\n"));
    if (payload === "topup") await sendPayMenu(ctx);
  });

  pm.command("help", async (ctx) => {
    const tx = t(langOf(ctx));
    await ctx.reply(`${tx.help(contacts)}\n\n${tx.commands}`);
  });

  pm.command("balance", async (ctx) => {
    const a = await accountOf(ctx);
    if (!a) return;
    const s = await balanceSummary(db, a.accountId, new Date(clock.now()));
    if (!s) return;
    await ctx.reply(
      t(langOf(ctx)).balance({
        balance: money(s.balanceMicros, cur, ctx),
        available: money(s.availableMicros, cur, ctx),
        reserved: money(s.reservedMicros, cur, ctx),
        today: money(s.todaySpendMicros, cur, ctx),
        month: money(s.monthSpendMicros, cur, ctx),
      }),
    );
  });

  pm.command("pay", async (ctx) => {
    const a = await accountOf(ctx);
    if (!a) return;
    await sendPayMenu(ctx);
  });

  pm.callbackQuery(/^pay:([a-z0-9]{1,16})$/, async (ctx) => {
    await packageButton(ctx, ctx.match[1]!, async (a, pkg, orderId) => {
      const inv = await invoiceFor(ctx, a, pkg);
      await ctx.api.sendInvoice(ctx.chat.id, inv.title, inv.description, orderId, pkg.currency, inv.prices, {
        // Non-empty: a forwarded copy of the invoice gets a deep link instead of a Pay button.
        start_parameter: "topup",
        protect_content: true,
        ...(inv.providerToken ? { provider_token: inv.providerToken } : {}),
        ...inv.other,
      });
    });
  });

  pm.command("paylink", async (ctx) => {
    const a = await accountOf(ctx);
    if (!a) return;
    await sendPayMenu(ctx, "link");
  });

  // A t.me/$… link to pay later or on another device; the order stays payable only by this
  // Telegram user (pre-checkout refuses anyone else) and only until it expires.
  pm.callbackQuery(/^link:([a-z0-9]{1,16})$/, async (ctx) => {
    await packageButton(ctx, ctx.match[1]!, async (a, pkg, orderId) => {
      const inv = await invoiceFor(ctx, a, pkg);
      const link = await ctx.api.createInvoiceLink(inv.title, inv.description, orderId, inv.providerToken, pkg.currency, inv.prices, inv.other);
      await ctx.reply(t(langOf(ctx)).payLink(link, day(new Date(clock.now() + cfg.orderTtlMs), langOf(ctx))));
    });
  });

  pm.command("invite", async (ctx) => {
    const a = await accountOf(ctx);
    if (!a) return;
    const s = await referralStats(db, a.accountId);
    const bp = cfg.referralBasisPoints;
    const percent = bp % 100n === 0n ? (bp / 100n).toString() : `${bp / 100n}.${(bp % 100n).toString().padStart(2, "0").replace(/0$/, "")}`;
    await ctx.reply(
      t(langOf(ctx)).invite({
        link: `https://t.me/${ctx.me.username}?start=ref_${s.code}`,
        invitees: s.invitees,
        earned: money(s.earnedMicros, cur, ctx),
        percent,
      }),
    );
  });

  pm.command("keys", async (ctx) => {
    const a = await accountOf(ctx);
    if (!a) return;
    const tx = t(langOf(ctx));
    const keys = await listAccountKeys(db, a.accountId);
    const text = keys.length === 0 ? tx.keysNone : tx.keysList(keys.map((k) => `• ${k.name || "—"}: ${maskKey(k.start)} (${tx.keyStatus[k.status] ?? k.status}, ${day(k.createdAt, langOf(ctx))})`));
    await ctx.reply(text, { reply_markup: new InlineKeyboard().text(tx.keysCreateButton, "keys:new") });
  });

  pm.callbackQuery("keys:new", async (ctx) => {
    await ctx.answerCallbackQuery();
    const a = await accountOf(ctx);
    if (!a) return;
    const tx = t(langOf(ctx));
    const keys = await listAccountKeys(db, a.accountId, 1000);
    if (keys.length >= (deps.maxKeysPerAccount ?? 20)) return void (await ctx.reply(tx.keysLimit));
    const k = await makeKey(db, { accountId: a.accountId, name: "telegram", userId: a.userId });
    logger.info({ accountId: a.accountId, keyId: k.id, start: k.start }, "api key created from telegram");
    // Copyable (no protect_content: some clients then can't copy it at all); removed after a while if configured.
    const sent = await ctx.reply(tx.keyCreated(k.key, contacts), { parse_mode: "HTML" });
    if (deps.keyMessageTtlSec) {
      const t = setTimeout(() => void ctx.api.deleteMessage(sent.chat.id, sent.message_id).catch(() => undefined), deps.keyMessageTtlSec * 1000);
      t.unref();
    }
  });

  pm.command("usage", async (ctx) => {
    const a = await accountOf(ctx);
    if (!a) return;
    const tx = t(langOf(ctx));
    const days = deps.usageDays ?? 7;
    const u = await usageSummary(db, a.accountId, new Date(clock.now() - days * 86_400_000));
    if (u.requests === 0) return void (await ctx.reply(tx.usageEmpty(days)));
    await ctx.reply(
      tx.usage({
        days,
        requests: u.requests,
        prompt: u.promptTokens,
        completion: u.completionTokens,
        spent: money(u.spendMicros, cur, ctx),
        models: u.models.map((m) => `• ${m.model}: ${count(m.requests, langOf(ctx))} / ${money(m.spendMicros, cur, ctx)}`),
      }),
    );
  });

  pm.command("paysupport", async (ctx) => {
    const a = await accountOf(ctx);
    if (!a) return;
    const tx = t(langOf(ctx));
    const list = await refundablePayments(db, a.accountId, 5);
    if (list.length === 0) return void (await ctx.reply(tx.paysupportNone));
    const kb = new InlineKeyboard();
    for (const [i, p] of list.entries()) (i ? kb.row() : kb).text(tx.paysupportButton(paid(p.amountMinor, p.currency, ctx), day(p.createdAt, langOf(ctx))), `ps:${p.id}`);
    await ctx.reply(tx.paysupportIntro, { reply_markup: kb });
  });

  pm.callbackQuery(/^ps:(pay_[A-Za-z0-9]{1,40})$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const a = await accountOf(ctx);
    if (!a) return;
    const tx = t(langOf(ctx));
    const r = await requestRefund(db, { accountId: a.accountId, paymentId: ctx.match[1]!, telegramId: ctx.from.id });
    logger.info({ accountId: a.accountId, paymentId: ctx.match[1], status: r.status }, "refund requested via /paysupport");
    if (r.status === "requested") await ctx.reply(tx.paysupportRequested);
    else if (r.status === "already_requested") await ctx.reply(tx.paysupportAlready);
    else await ctx.reply(tx.paysupportNotRefundable);
  });

  pm.on("message:text", async (ctx) => {
    const tx = t(langOf(ctx));
    // "/something" we don't know vs. ordinary text: the latter gets a hint of what the bot does.
    await ctx.reply(ctx.message.text.startsWith("/") ? tx.unknown : tx.hint(contacts));
  });

  bot.catch((err) => {
    logger.error({ err: err.error, updateId: err.ctx.update.update_id }, "bot update failed");
  });
  return bot;
}

/** The message the low-balance job sends to each linked chat. */
export function lowBalanceMessage(locale: string | null, availableMicros: bigint, thresholdMicros: bigint, currency: string): string {
  const lang = pickLang(locale);
  return t(lang).lowBalance(formatMoney(availableMicros, currency, lang), formatMoney(thresholdMicros, currency, lang));
}
