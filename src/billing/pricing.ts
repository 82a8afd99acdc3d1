/**
 * Price math. Pure bigint, no I/O. Units:
 * - upstream prices: USD micros per 1M tokens (0.15 $/M → 150_000);
 * - FX rate: account-currency units per 1 USD × 1e6 (100 RUB/USD → 100_000_000), "rate micros";
 * - markup: parts per million (×1.5 → 1_500_000);
 * - results: account-currency micros.
 * A request's price is computed exactly as a rational number and rounded ONCE, up (in the
 * operator's favour): price = ceil(Σ tokens × price_per_M × rate × markup / 1e18). See README.md.
 */
import { divCeil, parseMoney } from "../core/money.js";
import type { TokenUsage } from "../contracts/request.js";

export const PPM = 1_000_000n;
/** 1e6 (per-million tokens) × 1e6 (rate scale) × 1e6 (markup scale). */
export const SALE_SCALE = 1_000_000_000_000_000_000n;
/** 1e6 (per-million tokens) × 1e6 (rate scale) × 1e4 (basis points). */
const COST_SCALE = 10_000_000_000_000_000n;
const PICO = 1_000_000_000_000n;

/** Upstream cost of one model on one route, USD micros per 1M tokens. */
export interface UnitPrices {
  input: bigint;
  output: bigint;
  /** Null: cached prompt tokens cost the input price. */
  cachedInput: bigint | null;
  /** Null: prompt tokens written to the upstream's cache cost the input price. */
  cacheWrite?: bigint | null;
  /** Null: reasoning tokens cost the output price. */
  reasoning: bigint | null;
}

/** What one route sells at: its upstream prices and the markup in force for this model and tariff. */
export interface RoutePricing {
  prices: UnitPrices;
  markupPpm: bigint;
}

/** Token counts made safe to price: non-negative integers, cached + cache writes ≤ prompt, reasoning ≤ completion. */
export interface CleanUsage {
  prompt: bigint;
  completion: bigint;
  cached: bigint;
  cacheWrite: bigint;
  reasoning: bigint;
  total: number;
}

const MAX_TOKENS_PER_REQUEST = 1_000_000_000;

function cleanCount(n: number | undefined): number {
  if (n === undefined || !Number.isFinite(n) || n <= 0) return 0;
  return Math.min(Math.floor(n), MAX_TOKENS_PER_REQUEST);
}

/**
 * Upstream usage is untrusted input (a negative count must never refund anyone): counts are
 * clamped to [0, 1e9]; cached (read) and cache-write tokens are part of the prompt and reasoning
 * tokens part of the completion (OpenAI's convention), so they are clamped to those.
 */
export function cleanUsage(u: Pick<TokenUsage, "promptTokens" | "completionTokens" | "cachedTokens" | "cacheWriteTokens" | "reasoningTokens">): CleanUsage {
  const prompt = cleanCount(u.promptTokens);
  const completion = cleanCount(u.completionTokens);
  const cached = Math.min(cleanCount(u.cachedTokens), prompt);
  const cacheWrite = Math.min(cleanCount(u.cacheWriteTokens), prompt - cached);
  const reasoning = Math.min(cleanCount(u.reasoningTokens), completion);
  return { prompt: BigInt(prompt), completion: BigInt(completion), cached: BigInt(cached), cacheWrite: BigInt(cacheWrite), reasoning: BigInt(reasoning), total: prompt + completion };
}

/** Σ tokens × USD-micros-per-1M: the exact upstream list cost, in units of 1e-6 USD micros. */
export function usageWeight(p: UnitPrices, u: CleanUsage): bigint {
  const cachedPrice = p.cachedInput ?? p.input;
  const cacheWritePrice = p.cacheWrite ?? p.input;
  const reasoningPrice = p.reasoning ?? p.output;
  return (
    (u.prompt - u.cached - u.cacheWrite) * p.input +
    u.cached * cachedPrice +
    u.cacheWrite * cacheWritePrice +
    (u.completion - u.reasoning) * p.output +
    u.reasoning * reasoningPrice
  );
}

/** Sale price in account micros: the one rounding step, up. */
export function salePriceMicros(weight: bigint, rateMicros: bigint, markupPpm: bigint): bigint {
  return divCeil(weight * rateMicros * markupPpm, SALE_SCALE);
}

/** What the operator pays upstream in account micros, after an upstream discount (basis points). */
export function upstreamCostMicros(weight: bigint, rateMicros: bigint, discountBp = 0): bigint {
  const bp = BigInt(Math.min(10_000, Math.max(0, Math.floor(discountBp))));
  return divCeil(weight * rateMicros * (10_000n - bp), COST_SCALE);
}

/**
 * An upstream-reported cost (OpenRouter's `usage.cost`, a float in USD) → account micros, rounded up.
 * The float is read at 12 decimals (pico-USD), far below a micro of any currency. Null when unusable.
 */
export function reportedUsdToPico(usd: number | undefined): bigint | null {
  if (usd === undefined || typeof usd !== "number" || !Number.isFinite(usd) || usd < 0 || usd > 1e6) return null;
  const [whole, frac = ""] = usd.toFixed(12).split(".");
  return BigInt(whole!) * PICO + BigInt(frac.padEnd(12, "0"));
}

export function picoUsdToMicros(pico: bigint, rateMicros: bigint, markupPpm = PPM): bigint {
  // account micros = USD × rate × 1e6 × markup = pico/1e12 × rateMicros/1e6 × 1e6 × markupPpm/1e6
  return divCeil(pico * rateMicros * markupPpm, PICO * PPM);
}

/** Per-token sale prices × 1e18 (account micros), the worst case over the routes a request may take. */
export interface HoldRates {
  inNum: bigint;
  outNum: bigint;
}

export function holdRates(routes: readonly RoutePricing[], rateMicros: bigint): HoldRates {
  let inNum = 0n;
  let outNum = 0n;
  for (const r of routes) {
    const p = r.prices;
    // Any prompt token may turn out a cache read or a cache write: the hold takes the dearest.
    let inp = p.input;
    if (p.cachedInput !== null && p.cachedInput > inp) inp = p.cachedInput;
    if (p.cacheWrite != null && p.cacheWrite > inp) inp = p.cacheWrite;
    const out = p.reasoning !== null && p.reasoning > p.output ? p.reasoning : p.output;
    const i = inp * rateMicros * r.markupPpm;
    const o = out * rateMicros * r.markupPpm;
    if (i > inNum) inNum = i;
    if (o > outNum) outNum = o;
  }
  return { inNum, outNum };
}

/** Hold for the prompt part (rounded up). The database adds ceil(max_tokens × outNum / 1e18). */
export function promptHoldMicros(promptTokens: number, rates: HoldRates): bigint {
  return divCeil(BigInt(cleanCount(promptTokens)) * rates.inNum, SALE_SCALE);
}

/** The full hold for a prompt and a max_tokens, exactly as the reserve SQL computes it. */
export function holdMicros(promptTokens: number, maxTokens: number, rates: HoldRates): bigint {
  return promptHoldMicros(promptTokens, rates) + divCeil(BigInt(cleanCount(maxTokens)) * rates.outNum, SALE_SCALE);
}

/** "1.5" → 1_500_000 ppm (also used for FX rates: "95.5" → 95_500_000). Up to 6 decimals, > 0. */
export function parsePositiveMillionths(s: string, what: string): bigint {
  let v: bigint;
  try {
    v = parseMoney(s);
  } catch {
    throw new RangeError(`${what} must be a decimal with up to 6 places, got ${JSON.stringify(s)}`);
  }
  if (v <= 0n) throw new RangeError(`${what} must be positive`);
  return v;
}

/**
 * OpenRouter's per-token USD price string ("0.00000015") → USD micros per 1M tokens (150_000).
 * Exact for ≤ 12 decimals; finer prices round up (never sell below cost). Null for negative
 * ("-1" = variable price) or unparsable values.
 */
export function perTokenUsdToMicrosPerM(s: unknown): bigint | null {
  if (typeof s === "number") s = Number.isFinite(s) ? s.toFixed(15) : "";
  if (typeof s !== "string") return null;
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s.trim());
  if (!m) return null;
  const whole = BigInt(m[1]!);
  const frac = m[2] ?? "";
  // value × 1e12 = micros per 1M tokens
  const head = frac.slice(0, 12).padEnd(12, "0");
  const tail = frac.slice(12);
  let v = whole * PICO + BigInt(head);
  if (/[1-9]/.test(tail)) v += 1n;
  return v;
}

/** USD micros per 1M → "0.15" ($ per 1M tokens) for display. */
export function microsPerMToDecimal(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const whole = a / PPM;
  let frac = (a % PPM).toString().padStart(6, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${whole}${frac ? "." + frac : ""}`;
}

/** Relative change between two prices in basis points; null when exactly one of them is zero. */
export function changeBp(oldV: bigint, newV: bigint): number | null {
  if (oldV === newV) return 0;
  if (oldV === 0n || newV === 0n) return null;
  const d = newV > oldV ? newV - oldV : oldV - newV;
  return Number(divCeil(d * 10_000n, oldV));
}
