import type { PreCheckoutReason } from "../payments/orders.js";

export type Lang = "ru" | "en";

/**
 * Russian for `ru`, English for everyone else. Ukrainian, Belarusian and Kazakh speakers get English
 * (we have no texts in their languages, and imposing Russian on them is not our call); any missing or
 * odd language_code also lands on English, never on an undefined text.
 */
export function pickLang(languageCode: string | null | undefined): Lang {
  const c = (languageCode ?? "").toLowerCase().slice(0, 2);
  return c === "ru" ? "ru" : "en";
}

const LOCALE: Record<Lang, string> = { ru: "ru-RU", en: "en-US" };
const formatters = new Map<string, Intl.NumberFormat>();
function currencyFormat(lang: Lang, currency: string, maxDecimals: number): Intl.NumberFormat {
  const k = `${lang}:${currency}:${maxDecimals}`;
  let f = formatters.get(k);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE[lang], {
      style: "currency",
      currency,
      currencyDisplay: "narrowSymbol",
      minimumFractionDigits: 2,
      maximumFractionDigits: maxDecimals,
    });
    formatters.set(k, f);
  }
  return f;
}

/** Rounds micros to `decimals` places, half away from zero, as an exact decimal string. */
function microsToDecimal(micros: bigint, decimals: number): string {
  const step = 10n ** BigInt(6 - decimals);
  const neg = micros < 0n;
  const abs = neg ? -micros : micros;
  const q = (abs + step / 2n) / step;
  const unit = 10n ** BigInt(decimals);
  const frac = decimals ? `.${(q % unit).toString().padStart(decimals, "0")}` : "";
  return `${neg && q > 0n ? "-" : ""}${q / unit}${frac}`;
}

/** 1_500_000_000n → "1 500,00 ₽" (ru) / "₽1,500.00" (en): balances and payments, always two decimals. */
export function money(micros: bigint, currency: string, lang: Lang = "en"): string {
  // The decimal string keeps the exact value (Intl accepts numeric strings without float rounding).
  return currencyFormat(lang, currency, 2).format(microsToDecimal(micros, 2) as unknown as number);
}

/** 12345 → "12 345" (ru) / "12,345" (en). */
export function count(n: number, lang: Lang): string {
  return new Intl.NumberFormat(LOCALE[lang]).format(n);
}

/** A calendar date for customers ("1 декабря 2026 г." / "Dec 1, 2026"), never an ISO timestamp. */
export function day(d: Date, lang: Lang): string {
  return new Intl.DateTimeFormat(LOCALE[lang], { dateStyle: "medium", timeZone: "UTC" }).format(d);
}

const RU_FORMS: Record<string, [string, string, string]> = {
  request: ["запрос", "запроса", "запросов"],
  day: ["день", "дня", "дней"],
};

/** "1 запрос", "2 запроса", "5 запросов" / "1 request", "2 requests": CLDR plural rules, not "+s". */
export function plural(lang: Lang, n: number, word: "request" | "day"): string {
  const f = new Intl.PluralRules(lang).select(n);
  if (lang === "ru") {
    const [one, few, many] = RU_FORMS[word]!;
    return `${count(n, lang)} ${f === "one" ? one : f === "few" ? few : many}`;
  }
  return `${count(n, lang)} ${f === "one" ? word : `${word}s`}`;
}

/** A payment amount in its own unit: whole Stars, or kopecks/cents shown with two decimals. */
export function paid(amountMinor: bigint | number, currency: string, lang: Lang = "en"): string {
  const a = BigInt(amountMinor);
  if (currency === "XTR") return `${count(Number(a), lang)} ⭐`;
  return money(a * 10_000n, currency, lang);
}

/** Texts exist for exactly the reasons pre-checkout can give (src/payments/orders.ts). */
export type PreCheckoutReasonText = PreCheckoutReason;

interface Texts {
  welcomeNew: (name: string) => string;
  welcomeBack: (name: string) => string;
  invitedBy: string;
  commands: string;
  help: (c: Contacts) => string;
  /** The command menu (setMyCommands) in this language. */
  menu: { command: string; description: string }[];
  blocked: string;
  balance: (b: { balance: string; available: string; reserved: string; today: string; month: string }) => string;
  payChoose: string;
  payNothing: string;
  packageButton: (price: string, credits: string) => string;
  invoiceTitle: string;
  invoiceDescription: (credits: string, price: string) => string;
  invoiceLabel: string;
  orderExpired: string;
  preCheckout: Record<PreCheckoutReasonText, string>;
  paymentCredited: (credits: string, balance: string) => string;
  paymentUnmatched: string;
  refunded: (price: string, credits: string, balance: string) => string;
  invite: (p: { link: string; invitees: number; earned: string; percent: string }) => string;
  keysNone: string;
  keysList: (lines: string[]) => string;
  keysCreateButton: string;
  keyCreated: (key: string, c: Contacts) => string;
  keyStatus: Record<string, string>;
  keysLimit: string;
  usage: (u: { days: number; requests: number; prompt: number; completion: number; spent: string; models: string[] }) => string;
  usageEmpty: (days: number) => string;
  paysupportIntro: string;
  paysupportNone: string;
  paysupportButton: (price: string, date: string) => string;
  paysupportRequested: string;
  paysupportAlready: string;
  paysupportNotRefundable: string;
  loginOk: string;
  loginFailed: Record<"not_found" | "expired" | "already_used" | "user_blocked" | "account_blocked", string>;
  linkOk: string;
  linkFailed: Record<"not_found" | "expired" | "already_used" | "already_linked" | "user_has_other_telegram", string>;
  lowBalance: (available: string, threshold: string) => string;
  unknown: string;
  /** Ordinary text (not a command): what the bot can do instead of "unknown command". */
  hint: (c: Contacts) => string;
  tryLater: string;
  invoiceFailed: (c: Contacts) => string;
  payLinkChoose: string;
  payLink: (link: string, validUntil: string) => string;
  commission: (amount: string, balance: string) => string;
  receiptItem: (credits: string) => string;
}

/** Settings shown to customers (API_BASE_URL, SUPPORT_CONTACT); either may be unset. */
export interface Contacts {
  apiBase: string | null;
  support: string | null;
}

const lines = (...l: (string | null | false)[]) => l.filter((x): x is string => typeof x === "string").join("\n");

const en: Texts = {
  welcomeNew: (n) => `Welcome, ${n}! Your account is ready. Top up with /pay and create an API key with /keys.`,
  welcomeBack: (n) => `Welcome back, ${n}!`,
  invitedBy: "You joined through an invite link.",
  commands:
    "/balance — balance and spending\n/pay — top up\n/paylink — payment link\n/keys — API keys\n/usage — usage for the last 7 days\n/invite — invite friends\n/paysupport — payment support and refunds\n/help — this help",
  help: (c) =>
    lines(
      "LLM Gateway bot: an OpenAI-compatible API with a prepaid balance.",
      c.apiBase && `API base URL: ${c.apiBase} (use it as base_url in the OpenAI SDK).`,
      c.support && `Support: ${c.support}`,
    ),
  menu: [
    { command: "balance", description: "Balance and spending" },
    { command: "pay", description: "Top up" },
    { command: "paylink", description: "Payment link to share or open later" },
    { command: "keys", description: "API keys" },
    { command: "usage", description: "Usage for 7 days" },
    { command: "invite", description: "Invite friends" },
    { command: "paysupport", description: "Payment questions and refunds" },
    { command: "help", description: "Help" },
  ],
  blocked: "Your account is blocked. Contact support.",
  balance: (b) =>
    `Balance: ${b.balance}\nAvailable: ${b.available} (reserved ${b.reserved})\nSpent today: ${b.today}\nSpent this month: ${b.month}`,
  payChoose: "Choose a top-up:",
  payNothing: "Top-ups are not available right now.",
  packageButton: (price, credits) => `${price} → ${credits}`,
  invoiceTitle: "Balance top-up",
  invoiceDescription: (credits, price) => `${credits} of API credit for ${price}.`,
  invoiceLabel: "API credit",
  orderExpired: "This package is no longer offered. Use /pay again.",
  preCheckout: {
    unknown_order: "This invoice is not valid. Please use /pay again.",
    not_payable: "This invoice has already been paid or cancelled. Please use /pay again.",
    expired: "This invoice has expired. Please use /pay again.",
    amount_mismatch: "The amount does not match the invoice. Please use /pay again.",
    currency_mismatch: "The currency does not match the invoice. Please use /pay again.",
    wrong_payer: "This invoice was issued to another user. Please use /pay in your own chat.",
    account_blocked: "Your account is blocked. Contact support.",
    internal_error: "Payments are temporarily unavailable. Please try again in a minute.",
  },
  paymentCredited: (c, b) => `Payment received: +${c}. Balance: ${b}.`,
  paymentUnmatched: "We received your payment but could not match it to an invoice. Support will contact you; use /paysupport if needed.",
  refunded: (p, c, b) => `Refund of ${p} processed: −${c}. Balance: ${b}.`,
  invite: (p) =>
    `Your invite link:\n${p.link}\n\nYou get ${p.percent}% of your friends' paid top-ups.\nInvited: ${p.invitees}\nEarned: ${p.earned}`,
  keysNone: "You have no API keys yet.",
  keysList: (l) => `Your API keys:\n${l.join("\n")}`,
  keysCreateButton: "Create a key",
  keyCreated: (k, c) =>
    lines(
      `Your new API key (shown only once, store it now):\n<code>${k}</code>`,
      c.apiBase && `API base URL: <code>${c.apiBase}</code>`,
      c.support && `Questions: ${c.support}`,
    ),
  keyStatus: { active: "active", disabled: "disabled", revoked: "revoked", expired: "expired" },
  keysLimit: "Key limit reached: revoke a key in the dashboard first.",
  usage: (u) =>
    `Last ${plural("en", u.days, "day")}: ${plural("en", u.requests, "request")}, ${count(u.prompt, "en")} prompt + ${count(u.completion, "en")} completion tokens, spent ${u.spent}.` +
    (u.models.length ? `\nTop models:\n${u.models.join("\n")}` : ""),
  usageEmpty: (d) => `No requests in the last ${d} days.`,
  paysupportIntro: "Payment support. Choose a payment to request a refund of its unspent credit:",
  paysupportNone: "You have no payments that can be refunded.",
  paysupportButton: (p, d) => `Refund ${p} (${d})`,
  paysupportRequested: "Refund request received. Support will review it soon.",
  paysupportAlready: "A refund request for this payment is already open.",
  paysupportNotRefundable: "This payment can no longer be refunded.",
  loginOk: "Login confirmed. Return to your browser.",
  loginFailed: {
    not_found: "This login link is not valid.",
    expired: "This login link has expired. Start again in the browser.",
    already_used: "This login link was already used.",
    user_blocked: "Your account is blocked.",
    account_blocked: "Your account is blocked.",
  },
  linkOk: "Telegram is now linked to your account.",
  linkFailed: {
    not_found: "This link is not valid.",
    expired: "This link has expired. Start again in the dashboard.",
    already_used: "This link was already used.",
    already_linked: "This Telegram account is already linked to another account.",
    user_has_other_telegram: "Your account is already linked to another Telegram account.",
  },
  lowBalance: (a, t) => `Low balance: ${a} left (alert threshold ${t}). Top up with /pay.`,
  unknown: "Unknown command. /help lists what I can do.",
  hint: (c) =>
    lines(
      "I work with commands: /pay to top up, /keys for API keys, /balance for the balance, /help for the rest.",
      c.support ? `For anything else write to ${c.support}.` : "Payment questions: /paysupport.",
    ),
  tryLater: "Something went wrong. Please try again in a minute.",
  invoiceFailed: (c) => lines("Could not create the invoice. Nothing was charged — try /pay again in a minute.", c.support && `If it keeps failing, write to ${c.support}.`),
  payLinkChoose: "Choose a package for a payment link:",
  payLink: (l, until) => `Payment link (for your account, valid until ${until}):\n${l}`,
  commission: (a, b) => `Referral commission: +${a} from a friend's top-up. Balance: ${b}.`,
  receiptItem: (c) => `API balance top-up, ${c}`,
};

const ru: Texts = {
  welcomeNew: (n) => `Добро пожаловать, ${n}! Аккаунт создан. Пополните баланс через /pay и создайте API-ключ через /keys.`,
  welcomeBack: (n) => `С возвращением, ${n}!`,
  invitedBy: "Вы пришли по приглашению.",
  commands:
    "/balance — баланс и расходы\n/pay — пополнить\n/paylink — ссылка на оплату\n/keys — API-ключи\n/usage — расход за 7 дней\n/invite — пригласить друзей\n/paysupport — вопросы по оплате и возвраты\n/help — помощь",
  help: (c) =>
    lines(
      "Бот LLM Gateway: OpenAI-совместимый API с предоплаченным балансом.",
      c.apiBase && `Адрес API: ${c.apiBase} (укажите его как base_url в OpenAI SDK).`,
      c.support && `Поддержка: ${c.support}`,
    ),
  menu: [
    { command: "balance", description: "Баланс и расходы" },
    { command: "pay", description: "Пополнить" },
    { command: "paylink", description: "Ссылка на оплату, чтобы открыть позже" },
    { command: "keys", description: "API-ключи" },
    { command: "usage", description: "Расход за 7 дней" },
    { command: "invite", description: "Пригласить друзей" },
    { command: "paysupport", description: "Вопросы по оплате и возвраты" },
    { command: "help", description: "Помощь" },
  ],
  blocked: "Ваш аккаунт заблокирован. Обратитесь в поддержку.",
  balance: (b) =>
    `Баланс: ${b.balance}\nДоступно: ${b.available} (в резерве ${b.reserved})\nПотрачено сегодня: ${b.today}\nПотрачено в этом месяце: ${b.month}`,
  payChoose: "Выберите пакет пополнения:",
  payNothing: "Пополнение сейчас недоступно.",
  packageButton: (price, credits) => `${price} → ${credits}`,
  invoiceTitle: "Пополнение баланса",
  invoiceDescription: (credits, price) => `${credits} на баланс API за ${price}.`,
  invoiceLabel: "Баланс API",
  orderExpired: "Этот пакет больше не предлагается. Повторите /pay.",
  preCheckout: {
    unknown_order: "Счёт недействителен. Повторите /pay.",
    not_payable: "Этот счёт уже оплачен или отменён. Повторите /pay.",
    expired: "Срок действия счёта истёк. Повторите /pay.",
    amount_mismatch: "Сумма не совпадает со счётом. Повторите /pay.",
    currency_mismatch: "Валюта не совпадает со счётом. Повторите /pay.",
    wrong_payer: "Этот счёт выставлен другому пользователю. Используйте /pay в своём чате.",
    account_blocked: "Ваш аккаунт заблокирован. Обратитесь в поддержку.",
    internal_error: "Оплата временно недоступна. Попробуйте через минуту.",
  },
  paymentCredited: (c, b) => `Оплата получена: +${c}. Баланс: ${b}.`,
  paymentUnmatched: "Мы получили оплату, но не смогли сопоставить её со счётом. Поддержка свяжется с вами; при необходимости используйте /paysupport.",
  refunded: (p, c, b) => `Возврат ${p} выполнен: −${c}. Баланс: ${b}.`,
  invite: (p) =>
    `Ваша ссылка-приглашение:\n${p.link}\n\nВы получаете ${p.percent}% от оплаченных пополнений друзей.\nПриглашено: ${p.invitees}\nЗаработано: ${p.earned}`,
  keysNone: "У вас пока нет API-ключей.",
  keysList: (l) => `Ваши API-ключи:\n${l.join("\n")}`,
  keysCreateButton: "Создать ключ",
  keyCreated: (k, c) =>
    lines(
      `Ваш новый API-ключ (показывается один раз, сохраните его сейчас):\n<code>${k}</code>`,
      c.apiBase && `Адрес API: <code>${c.apiBase}</code>`,
      c.support && `Вопросы: ${c.support}`,
    ),
  keyStatus: { active: "активен", disabled: "отключён", revoked: "отозван", expired: "истёк" },
  keysLimit: "Достигнут лимит ключей: сначала отзовите ключ в личном кабинете.",
  usage: (u) =>
    `За ${plural("ru", u.days, "day")}: ${plural("ru", u.requests, "request")}, ${count(u.prompt, "ru")} входных + ${count(u.completion, "ru")} выходных токенов, потрачено ${u.spent}.` +
    (u.models.length ? `\nМодели:\n${u.models.join("\n")}` : ""),
  usageEmpty: (d) => `За последние ${d} дней запросов не было.`,
  paysupportIntro: "Поддержка по оплате. Выберите платёж, чтобы запросить возврат неизрасходованного баланса:",
  paysupportNone: "Нет платежей, которые можно вернуть.",
  paysupportButton: (p, d) => `Вернуть ${p} (${d})`,
  paysupportRequested: "Запрос на возврат принят. Поддержка скоро его рассмотрит.",
  paysupportAlready: "Запрос на возврат этого платежа уже открыт.",
  paysupportNotRefundable: "Этот платёж уже нельзя вернуть.",
  loginOk: "Вход подтверждён. Вернитесь в браузер.",
  loginFailed: {
    not_found: "Ссылка для входа недействительна.",
    expired: "Срок действия ссылки истёк. Начните вход в браузере заново.",
    already_used: "Эта ссылка для входа уже использована.",
    user_blocked: "Ваш аккаунт заблокирован.",
    account_blocked: "Ваш аккаунт заблокирован.",
  },
  linkOk: "Telegram привязан к вашему аккаунту.",
  linkFailed: {
    not_found: "Ссылка недействительна.",
    expired: "Срок действия ссылки истёк. Начните заново в личном кабинете.",
    already_used: "Эта ссылка уже использована.",
    already_linked: "Этот Telegram уже привязан к другому аккаунту.",
    user_has_other_telegram: "К вашему аккаунту уже привязан другой Telegram.",
  },
  lowBalance: (a, t) => `Низкий баланс: осталось ${a} (порог уведомления ${t}). Пополните через /pay.`,
  unknown: "Неизвестная команда. Список команд — /help.",
  hint: (c) =>
    lines(
      "Я понимаю команды: /pay — пополнить, /keys — API-ключи, /balance — баланс, /help — остальное.",
      c.support ? `По другим вопросам пишите: ${c.support}.` : "Вопросы по оплате — /paysupport.",
    ),
  tryLater: "Что-то пошло не так. Попробуйте ещё раз через минуту.",
  invoiceFailed: (c) => lines("Не удалось выставить счёт. Деньги не списаны — повторите /pay через минуту.", c.support && `Если не получается, напишите: ${c.support}.`),
  payLinkChoose: "Выберите пакет для ссылки на оплату:",
  payLink: (l, until) => `Ссылка на оплату (для вашего аккаунта, действует до ${until}):\n${l}`,
  commission: (a, b) => `Реферальное вознаграждение: +${a} с пополнения друга. Баланс: ${b}.`,
  receiptItem: (c) => `Пополнение баланса API, ${c}`,
};

export const TEXTS: Record<Lang, Texts> = { en, ru };

export function t(lang: Lang): Texts {
  return TEXTS[lang];
}
