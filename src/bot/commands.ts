import { InlineKeyboard, type Api, type Bot, type Context } from "grammy";
import { confirmDeepLinkLogin, confirmTelegramLink, parseStartPayload } from "../accounts/telegram-login.js";
import { findOrCreateTelegramAccount, listAccountKeys, type TelegramAccount } from "../accounts/telegram-user.js";
import { createApiKey as defaultCreateApiKey, maskKey } from "../keys/index.js";
import { findPackage, type TopupPackage } from "../payments/config.js";
import { cancelOrder, createTelegramOrder } from "../payments/orders.js";
import { referralStats } from "../payments/referrals.js";
import { balanceSummary, refundablePayments, requestRefund, usageSummary } from "../payments/statements.js";
import type { BotContext, BotDeps } from "./deps.js";
import { count, day, money as formatMoney, paid as formatPaid, t, TEXTS, type Contacts } from "./i18n.js";
import { invoiceFields } from "./invoices.js";
import { identity, langOf, userInfo } from "./sender.js";

/** The command menu per language (ru, en) and a default (English) for every other language. */
export async function registerCommands(api: Api): Promise<void> {
  await api.setMyCommands(TEXTS.en.menu);
  for (const lang of ["ru", "en"] as const) await api.setMyCommands(TEXTS[lang].menu, { language_code: lang });
}

/** The private-chat commands and their buttons: /start, /balance, /pay, /paylink, /invite, /keys, /usage, /paysupport, /help. */
export function registerCommandHandlers(bot: Bot<BotContext>, deps: BotDeps): void {
  const { db, payments: cfg, clock, logger } = deps;
  const cur = cfg.accountCurrency;
  const contacts: Contacts = { apiBase: deps.apiBaseUrl ?? null, support: deps.supportContact ?? null };
  const money = (micros: bigint, currency: string, ctx: Context) => formatMoney(micros, currency, langOf(ctx));
  const paid = (amount: bigint | number, currency: string, ctx: Context) => formatPaid(amount, currency, langOf(ctx));
  const makeKey = deps.createApiKey ?? ((d, i) => defaultCreateApiKey(d, i));

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
}
