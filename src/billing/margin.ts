/**
 * The margin guard: what a request is charged when the upstream reports a cost above the list
 * price the gateway sold it at (a price change upstream not yet in the price book, a provider
 * surcharge, a BYOK fee). Per tariff (`tariffs.margin_rule`, default `BILLING_MARGIN_RULE`):
 *
 * - `charge_reported`: price = max(list, reported) × markup — the customer pays the real cost plus
 *   the usual margin;
 * - `list_price`: the customer keeps the list price; the operator absorbs the difference.
 *
 * Either way the request is flagged (`meta.margin` on its log row), counted and alerted, and one
 * whose price ends below its cost is a negative-margin request listed at `GET /admin/margin`.
 */
export type MarginRule = "charge_reported" | "list_price";
export const MARGIN_RULES: readonly MarginRule[] = ["charge_reported", "list_price"];

/** What happened to one priced request; null when the reported cost was within the list price. */
export type MarginFlag = "charged_reported" | "kept_list";

export interface MarginInput {
  rule: MarginRule;
  /** List cost (no markup) and its sale price (× markup), account micros. */
  listCostMicros: bigint;
  listPriceMicros: bigint;
  /** The upstream-reported cost (no markup) and the same × markup, account micros. */
  reportedCostMicros: bigint;
  reportedPriceMicros: bigint;
}

export function applyMarginRule(m: MarginInput): { priceMicros: bigint; flag: MarginFlag | null } {
  if (m.reportedCostMicros <= m.listCostMicros) return { priceMicros: m.listPriceMicros, flag: null };
  if (m.rule === "charge_reported") {
    return { priceMicros: m.reportedPriceMicros > m.listPriceMicros ? m.reportedPriceMicros : m.listPriceMicros, flag: "charged_reported" };
  }
  return { priceMicros: m.listPriceMicros, flag: "kept_list" };
}

/** One settled request the guard flagged, handed to whoever watches margins (metrics, alerts). */
export interface MarginEvent {
  requestId: string;
  accountId: string;
  providerId: string | null;
  flag: MarginFlag;
  priceMicros: bigint;
  costMicros: bigint;
  /** price − cost; below zero = the operator lost money on this request. */
  profitMicros: bigint;
}
