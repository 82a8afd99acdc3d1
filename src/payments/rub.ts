/** "100.00" | "100" | "0.1" → kopecks; rejects exponents, signs and more than 2 decimals. */
export function parseKopecks(value: string): bigint {
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(value.trim());
  if (!m) throw new RangeError(`not a RUB amount: ${JSON.stringify(value)}`);
  return BigInt(m[1]!) * 100n + BigInt((m[2] ?? "").padEnd(2, "0"));
}

/** kopecks → "1490.00" (YooKassa's amount.value format). */
export function formatKopecks(k: bigint): string {
  const neg = k < 0n;
  const a = neg ? -k : k;
  return `${neg ? "-" : ""}${a / 100n}.${(a % 100n).toString().padStart(2, "0")}`;
}

export function creditKopecksLabel(orderId: string): string {
  return `Balance top-up ${orderId}`.slice(0, 128);
}
