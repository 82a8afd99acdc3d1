import { parseMoney } from "../core/money.js";

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

/** Everything the payments domain reads from settings, resolved once at start-up (main/settings.ts). */
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

export function findPackage(cfg: PaymentsConfig, id: string): TopupPackage | undefined {
  return [...cfg.starPackages, ...cfg.rubPackages].find((p) => p.id === id);
}

