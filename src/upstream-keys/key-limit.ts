import { divCeil, formatMoney, MICROS } from "../core/money.js";

/**
 * The OpenRouter-side credit limit of an account's key, in USD micros: what the key has spent
 * upstream so far plus the account's balance in USD, so the key can spend about what the balance
 * still covers. Our own billing stays the real bound (holds, quotas); this limit is the second line
 * that stops a key used outside the gateway. The balance is converted without the markup, so with a
 * markup of 1 or more the upstream limit never cuts a request the balance would pay for.
 */
export function keyLimitUsdMicros(usageUsdMicros: bigint, balanceMicros: bigint, usdRateMicros: bigint): bigint {
  const balance = balanceMicros > 0n ? balanceMicros : 0n;
  return usageUsdMicros + divCeil(balance * MICROS, usdRateMicros);
}

/** OpenRouter reports `usage` as a JSON number of USD; read up to the micro (a float only at this edge). */
export function usdToMicros(usd: number | null | undefined): bigint {
  if (typeof usd !== "number" || !Number.isFinite(usd) || usd <= 0) return 0n;
  return BigInt(Math.ceil(Math.round(usd * 1e8) / 100));
}

/** USD micros → the JSON number OpenRouter's `limit` takes (six decimals at most). */
export function microsToUsd(micros: bigint): number {
  return Number(formatMoney(micros, 0));
}

/**
 * Whether a limit set upstream is far enough from the wanted one to be worth a PATCH: more than
 * one cent apart and more than 1 % of what the key may still spend. Spending moves the wanted limit
 * a little on every request; the sync must not become one API call per request.
 */
export function limitDrifted(current: bigint | null, wanted: bigint, usageUsdMicros: bigint): boolean {
  if (current === null) return true;
  const diff = current > wanted ? current - wanted : wanted - current;
  const remaining = wanted > usageUsdMicros ? wanted - usageUsdMicros : 0n;
  return diff > 10_000n && diff * 100n > remaining;
}
