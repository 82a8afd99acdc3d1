/**
 * The models a gateway sells, priced as one caller pays for them: the tariff's markup over the
 * upstream list price at the FX rate, in the account currency, with the same lookup and rounding
 * requests use (price-table.ts). A model nobody priced is listed only when the operator set a
 * per-request price for such models (BILLING_UNPRICED_HOLD); otherwise it is refused, so it is not
 * for sale. The upstream's own cost never appears here (the admin price table has it).
 */
import { modelAllowed } from "./prepare.js";
import type { BillingSnapshot, TariffInfo } from "./config-cache.js";
import { priceTable, type PriceTableModel } from "./price-table.js";

export interface CatalogEntryInput extends PriceTableModel {
  name: string | null;
  description: string | null;
  contextLength: number | null;
  maxOutput: number | null;
}

export interface CustomerModel {
  id: string;
  name: string | null;
  description: string | null;
  contextLength: number | null;
  maxOutput: number | null;
  /** The provider of the model's first route (decides the request fields it takes); null for a price-book-only model. */
  providerId: string | null;
  /** Account micros per 1M tokens the caller pays (the highest over the model's routes: never charged more); null = per request. */
  perM: { input: bigint; output: bigint } | null;
  /** Account micros per request for a model nobody priced (the operator's explicit price); null when priced per token. */
  perRequestMicros: bigint | null;
}

export function customerCatalog(snap: BillingSnapshot, tariff: TariffInfo, models: readonly CatalogEntryInput[], unpricedMicros: bigint | null): CustomerModel[] {
  const perM = new Map<string, { input: bigint; output: bigint }>();
  for (const r of priceTable(snap, tariff, models)) {
    const p = perM.get(r.modelId);
    perM.set(r.modelId, p ? { input: max(p.input, r.pricePerM.input), output: max(p.output, r.pricePerM.output) } : r.pricePerM);
  }
  const out = new Map<string, CustomerModel>();
  const add = (m: Omit<CustomerModel, "perM" | "perRequestMicros">) => {
    if (out.has(m.id) || !modelAllowed(tariff.allowedModels, m.id)) return;
    const price = perM.get(m.id) ?? null;
    if (!price && unpricedMicros === null) return;
    out.set(m.id, { ...m, perM: price, perRequestMicros: price ? null : unpricedMicros });
  };
  for (const m of models) add({ id: m.id, name: m.name, description: m.description, contextLength: m.contextLength, maxOutput: m.maxOutput, providerId: m.routes[0]?.providerId ?? null });
  // Price-book models the config does not list (a synced catalog served by pass-through).
  for (const p of snap.prices.values()) {
    add({ id: p.modelId, name: p.name, description: null, contextLength: p.contextLength, maxOutput: p.maxOutput, providerId: p.providerId === "*" ? null : p.providerId });
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
