import type { Env } from "../config/env.js";
import { parseMoney } from "../core/money.js";
import { DEFAULT_YOOKASSA_IPS } from "./ip-allowlist.js";

export type PaymentProvider = "tg_stars" | "tg_provider" | "yookassa" | "stripe";

/** One thing /pay offers: a price in the payment currency's smallest unit and what it credits. */
export interface TopupPackage {
  id: string;
  provider: "tg_stars" | "tg_provider";
  /** `XTR` (whole Stars) or `RUB` (kopecks). */
  currency: "XTR" | "RUB";
  amountMinor: bigint;
  creditsMicros: bigint;
}

export interface YooKassaSettings {
  shopId: string;
  secretKey: string;
  apiRoot: string;
  returnUrl: string | null;
  ipAllowlist: readonly string[];
  trustedProxyHops: number;
  minAmountMinor: bigint;
  maxAmountMinor: bigint;
}

/** Everything the payments domain reads from settings, resolved once at start-up. */
export interface PaymentsConfig {
  accountCurrency: string;
  /** Account micros per Star. */
  starRateMicros: bigint;
  /** Account micros per 1 RUB. */
  rubRateMicros: bigint;
  starPackages: TopupPackage[];
  /** Empty unless a Telegram payment-provider token is configured. */
  rubPackages: TopupPackage[];
  providerToken: string | null;
  orderTtlMs: number;
  /** Referral commission in basis points (10 % = 1000). */
  referralBasisPoints: bigint;
  yookassa: YooKassaSettings | null;
}

export function creditsForStars(stars: bigint, starRateMicros: bigint): bigint {
  return stars * starRateMicros;
}

/** Kopecks → account micros; rounds down (a fraction of a micro is never credited). */
export function creditsForKopecks(kopecks: bigint, rubRateMicros: bigint): bigint {
  return (kopecks * rubRateMicros) / 100n;
}

/** "12.5" percent → 1250 basis points. */
export function percentToBasisPoints(percent: string): bigint {
  return parseMoney(percent) / 10_000n;
}

function intList(s: string): bigint[] {
  return [...new Set(s.split(",").map((x) => BigInt(x.trim())))].filter((x) => x > 0n).sort((a, b) => (a < b ? -1 : 1));
}

export function paymentsConfigFromEnv(env: Env): PaymentsConfig {
  const starRateMicros = parseMoney(env.PAYMENTS_STAR_RATE);
  const rubRateMicros = parseMoney(env.PAYMENTS_RUB_RATE);
  const providerToken = env.TELEGRAM_PROVIDER_TOKEN ?? null;
  const starPackages: TopupPackage[] = intList(env.PAYMENTS_STAR_PACKAGES).map((stars) => ({
    id: `s${stars}`,
    provider: "tg_stars",
    currency: "XTR",
    amountMinor: stars,
    creditsMicros: creditsForStars(stars, starRateMicros),
  }));
  const rubPackages: TopupPackage[] = providerToken
    ? intList(env.PAYMENTS_RUB_PACKAGES).map((rub) => ({
        id: `r${rub}`,
        provider: "tg_provider",
        currency: "RUB",
        amountMinor: rub * 100n,
        creditsMicros: creditsForKopecks(rub * 100n, rubRateMicros),
      }))
    : [];
  const yookassa: YooKassaSettings | null =
    env.YOOKASSA_SHOP_ID && env.YOOKASSA_SECRET_KEY
      ? {
          shopId: env.YOOKASSA_SHOP_ID,
          secretKey: env.YOOKASSA_SECRET_KEY,
          apiRoot: env.YOOKASSA_API_ROOT.replace(/\/+$/, ""),
          returnUrl: env.YOOKASSA_RETURN_URL ?? (env.PUBLIC_URL ? `${env.PUBLIC_URL.replace(/\/+$/, "")}/dashboard/billing` : null),
          ipAllowlist: env.YOOKASSA_IP_ALLOWLIST
            ? env.YOOKASSA_IP_ALLOWLIST.split(",").map((s) => s.trim()).filter(Boolean)
            : DEFAULT_YOOKASSA_IPS,
          trustedProxyHops: env.YOOKASSA_TRUSTED_PROXY_HOPS,
          minAmountMinor: BigInt(env.YOOKASSA_MIN_AMOUNT) * 100n,
          maxAmountMinor: BigInt(env.YOOKASSA_MAX_AMOUNT) * 100n,
        }
      : null;
  return {
    accountCurrency: env.BILLING_CURRENCY,
    starRateMicros,
    rubRateMicros,
    starPackages,
    rubPackages,
    providerToken,
    orderTtlMs: env.PAYMENTS_ORDER_TTL_MINUTES * 60_000,
    referralBasisPoints: percentToBasisPoints(env.REFERRAL_PERCENT),
    yookassa,
  };
}

export function findPackage(cfg: PaymentsConfig, id: string): TopupPackage | undefined {
  return [...cfg.starPackages, ...cfg.rubPackages].find((p) => p.id === id);
}

