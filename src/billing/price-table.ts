/**
 * The admin panel's price table: for every priced (model, provider) the upstream list price (USD per
 * 1M tokens), the markup a tariff applies and the resulting customer price per 1M tokens in the
 * account currency — computed with the same lookup (`findPrice`, `markupFor`) and the same one-step
 * rounding up that requests use, so the table shows what a request is charged.
 */
import type { ModelPrice } from "../contracts/request.js";
import { priceKey, type BillingSnapshot, type TariffInfo } from "./config-cache.js";
import { findPrice, markupFor } from "./price-plan.js";
import { PPM, type UnitPrices } from "./pricing.js";

export interface PriceTableModel {
  id: string;
  routes: ReadonlyArray<{ providerId: string; upstreamModel: string; price: ModelPrice | null }>;
}

export interface PriceTableRow {
  modelId: string;
  providerId: string;
  /** `book` (model_prices, admin or sync), `config` (the gateway config file). */
  source: "book" | "config";
  bookSource: "admin" | "sync" | null;
  usd: UnitPrices;
  markupPpm: bigint;
  /** Account micros per 1M tokens: upstream cost at the FX rate, and what the customer pays. */
  costPerM: { input: bigint; output: bigint };
  pricePerM: { input: bigint; output: bigint };
}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
/** USD micros per 1M × rate micros / 1e6 = account micros per 1M (rounded up like a charge). */
const atRate = (usd: bigint, rate: bigint) => ceilDiv(usd * rate, PPM);
const sale = (usd: bigint, rate: bigint, markup: bigint) => ceilDiv(usd * rate * markup, PPM * PPM);

function fromConfig(p: ModelPrice): UnitPrices {
  return { input: p.inputMicrosPerM, output: p.outputMicrosPerM, cachedInput: p.cachedInputMicrosPerM ?? null, cacheWrite: p.cacheWriteMicrosPerM ?? null, reasoning: p.reasoningMicrosPerM ?? null };
}

export function priceTable(snap: BillingSnapshot, tariff: TariffInfo, models: readonly PriceTableModel[], filter?: string): PriceTableRow[] {
  const out: PriceTableRow[] = [];
  const seen = new Set<string>();
  const push = (modelId: string, providerId: string, usd: UnitPrices, source: PriceTableRow["source"], bookSource: PriceTableRow["bookSource"]) => {
    const k = priceKey(modelId, providerId);
    if (seen.has(k)) return;
    seen.add(k);
    const markupPpm = markupFor(snap, tariff, modelId, providerId);
    out.push({
      modelId,
      providerId,
      source,
      bookSource,
      usd,
      markupPpm,
      costPerM: { input: atRate(usd.input, snap.rateMicros), output: atRate(usd.output, snap.rateMicros) },
      pricePerM: { input: sale(usd.input, snap.rateMicros, markupPpm), output: sale(usd.output, snap.rateMicros, markupPpm) },
    });
  };
  for (const m of models) {
    for (const r of m.routes) {
      const row = findPrice(snap, m.id, r.providerId, r.upstreamModel);
      if (row) {
        push(m.id, r.providerId, row.prices, "book", row.source);
        // The book row this route took its price from is shown once, under the route's provider.
        seen.add(priceKey(row.modelId, row.providerId));
      }
      else if (r.price) push(m.id, r.providerId, fromConfig(r.price), "config", null);
    }
  }
  // Book rows of models the config doesn't list (synced catalog, pass-through models).
  for (const row of snap.prices.values()) push(row.modelId, row.providerId, row.prices, "book", row.source);
  const f = filter?.toLowerCase();
  return out.filter((r) => !f || r.modelId.toLowerCase().includes(f)).sort((a, b) => a.modelId.localeCompare(b.modelId) || a.providerId.localeCompare(b.providerId));
}
