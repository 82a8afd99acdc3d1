/**
 * Money is bigint micro-units (1 unit = 1_000_000 micros) everywhere inside the gateway.
 * Decimal strings exist only at the edges (API bodies, bot texts, CLI).
 */
export const MICROS = 1_000_000n;

/** "150.00" | "-0.5" | "12" → micros. Rejects more than 6 decimals, exponents and junk. */
export function parseMoney(input: string): bigint {
  const s = input.trim();
  const m = /^([+-])?(\d{1,15})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) throw new RangeError(`not a decimal amount: ${JSON.stringify(input)}`);
  const sign = m[1] === "-" ? -1n : 1n;
  const whole = BigInt(m[2]!);
  const frac = BigInt((m[3] ?? "").padEnd(6, "0"));
  return sign * (whole * MICROS + frac);
}

/** micros → decimal string with `decimals` places (default 6, trailing zeros kept to `minDecimals`). */
export function formatMoney(micros: bigint, minDecimals = 2): string {
  const neg = micros < 0n;
  const abs = neg ? -micros : micros;
  const whole = abs / MICROS;
  let frac = (abs % MICROS).toString().padStart(6, "0");
  while (frac.length > minDecimals && frac.endsWith("0")) frac = frac.slice(0, -1);
  return `${neg ? "-" : ""}${whole}${frac.length ? "." + frac : ""}`;
}

/** Integer division rounding toward +infinity for non-negative operands (we never under-charge). */
export function divCeil(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new RangeError("divisor must be positive");
  if (a <= 0n) return -((-a) / b);
  return (a + b - 1n) / b;
}

/** USD price per 1M tokens as a decimal (0.15) → micro-USD per 1M tokens (150000). Exact for ≤6 decimals. */
export function usdPerMillionToMicros(price: number | string): bigint {
  const s = typeof price === "number" ? numberToDecimalString(price) : price;
  return parseMoney(s);
}

function numberToDecimalString(n: number): string {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`bad price ${n}`);
  // toFixed(6) is exact for prices that are given with ≤6 decimals in config files.
  return n.toFixed(6);
}
