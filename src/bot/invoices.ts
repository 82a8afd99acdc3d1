import type { Api } from "grammy";
import { confirmedEmail } from "../accounts/telegram-user.js";
import type { Clock } from "../core/clock.js";
import type { Db } from "../db/client.js";
import { findPackage, type PaymentsConfig, type TopupPackage } from "../payments/config.js";
import { cancelOrder, createTelegramOrder } from "../payments/orders.js";
import { money as formatMoney, paid as formatPaid, pickLang, t, type Lang } from "./i18n.js";

/** The invoice fields shared by sendInvoice and createInvoiceLink, with a 54-FZ receipt for RUB provider invoices. */
export async function invoiceFields(db: Db, cfg: PaymentsConfig, o: { lang: Lang; userId: string | null; pkg: TopupPackage; vatCode?: number }) {
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
