import type { Rng } from "./rng.js";

/**
 * Weighted random order without replacement: the first element is picked with probability
 * weight/total, the next among the rest, and so on, so the tail of the list is a fallback order
 * that still respects weights. Weight-0 items are never picked first; they follow the weighted
 * ones in their given order (a "standby" route).
 */
export function weightedOrder<T>(items: readonly T[], weightOf: (item: T) => number, rng: Rng): T[] {
  const n = items.length;
  if (n <= 1) return items.slice();
  const pool: T[] = [];
  const weights: number[] = [];
  const standby: T[] = [];
  let total = 0;
  for (const it of items) {
    const w = weightOf(it);
    if (w > 0 && Number.isFinite(w)) {
      pool.push(it);
      weights.push(w);
      total += w;
    } else standby.push(it);
  }
  const out: T[] = [];
  while (pool.length > 0) {
    let r = rng() * total;
    let i = 0;
    // Linear scan: route lists are a handful of items, cheaper than building a prefix tree.
    for (; i < pool.length - 1; i++) {
      r -= weights[i]!;
      if (r < 0) break;
    }
    out.push(pool[i]!);
    total -= weights[i]!;
    pool.splice(i, 1);
    weights.splice(i, 1);
  }
  for (const s of standby) out.push(s);
  return out;
}

/**
 * Tiers by ascending priority (1 before 2), weighted order inside each tier. Stable for equal
 * priorities apart from the weighted shuffle.
 */
export function tieredOrder<T>(
  items: readonly T[],
  priorityOf: (item: T) => number,
  weightOf: (item: T) => number,
  rng: Rng,
): T[] {
  if (items.length <= 1) return items.slice();
  const tiers = new Map<number, T[]>();
  for (const it of items) {
    const p = priorityOf(it);
    let t = tiers.get(p);
    if (!t) tiers.set(p, (t = []));
    t.push(it);
  }
  const keys = [...tiers.keys()].sort((a, b) => a - b);
  const out: T[] = [];
  for (const k of keys) {
    const t = tiers.get(k)!;
    if (t.length === 1) out.push(t[0]!);
    else for (const x of weightedOrder(t, weightOf, rng)) out.push(x);
  }
  return out;
}
