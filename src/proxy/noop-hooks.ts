import type { BillingHooks, RateLimitHooks, Reservation, SettleResult } from "./types.js";

const ZERO: SettleResult = { upstreamCostMicros: 0n, priceMicros: 0n, costDisplay: "0" };

/** Billing that charges nothing: used until the billing module is wired, and in spine tests. */
export const noopBilling: BillingHooks = {
  async reserve(): Promise<Reservation> {
    return { maxTokens: null, headers: {}, settle: async () => ZERO, release: async () => undefined, quote: () => ZERO };
  },
};

/** No limits: used when rate limiting is off. */
export const noopRateLimit: RateLimitHooks = {
  async admit() {
    return { headers: {}, done: () => undefined };
  },
};
