import type { ModelConfig } from "../config/gateway-config.js";
import { usdPerMillionToMicros } from "../core/money.js";
import type { ModelPrice, ResolvedModel, Route } from "../contracts/request.js";

export interface CatalogModel {
  id: string;
  aliases: string[];
  routes: Route[];
  contextLength: number | null;
  maxOutput: number | null;
  name: string | null;
  description: string | null;
  price: ModelPrice | null;
}

function toPrice(p: ModelConfig["price"]): ModelPrice | null {
  if (!p) return null;
  return {
    inputMicrosPerM: usdPerMillionToMicros(p.input),
    outputMicrosPerM: usdPerMillionToMicros(p.output),
    cachedInputMicrosPerM: p.cached_input !== undefined ? usdPerMillionToMicros(p.cached_input) : undefined,
    cacheWriteMicrosPerM: p.cache_write !== undefined ? usdPerMillionToMicros(p.cache_write) : undefined,
    reasoningMicrosPerM: p.reasoning !== undefined ? usdPerMillionToMicros(p.reasoning) : undefined,
  };
}

/**
 * Model name → canonical model with ordered routes. A name no entry knows goes to the first enabled
 * provider as is (so `openai/gpt-4o` works against OpenRouter without a model list).
 */
export class Catalog {
  private byName = new Map<string, CatalogModel>();
  private list: CatalogModel[] = [];
  private defaultProvider: string | null = null;

  constructor(models: ModelConfig[], providerIds: string[]) {
    this.load(models, providerIds);
  }

  /** Replace the whole catalog at runtime (admin edits), atomically for readers. */
  load(models: ModelConfig[], providerIds: string[]): void {
    const byName = new Map<string, CatalogModel>();
    const list: CatalogModel[] = [];
    const fallback = providerIds[0] ?? null;
    for (const m of models) {
      const price = toPrice(m.price);
      const routes: Route[] = (m.routes.length ? m.routes : fallback ? [{ provider: fallback, model: undefined, priority: 1, weight: 1 }] : []).map((r) => ({
        providerId: r.provider,
        // A mock route serves the bare model name; others default to the canonical id.
        upstreamModel: r.model ?? m.id,
        priority: r.priority ?? 1,
        weight: r.weight ?? 1,
        price,
      }));
      routes.sort((a, b) => a.priority - b.priority);
      const cm: CatalogModel = {
        id: m.id,
        aliases: m.aliases,
        routes,
        contextLength: m.context_length ?? null,
        maxOutput: m.max_output ?? null,
        name: m.name ?? null,
        description: m.description ?? null,
        price,
      };
      list.push(cm);
      byName.set(m.id, cm);
      for (const a of m.aliases) byName.set(a, cm);
    }
    this.byName = byName;
    this.list = list;
    this.defaultProvider = fallback;
  }

  models(): readonly CatalogModel[] {
    return this.list;
  }

  get(name: string): CatalogModel | undefined {
    return this.byName.get(name);
  }

  /** Null when the name is unknown and there is no provider to pass it to. */
  resolve(name: string): ResolvedModel | null {
    const m = this.byName.get(name);
    if (m) {
      return { id: m.id, requested: name, routes: m.routes, contextLength: m.contextLength, maxOutput: m.maxOutput, passthrough: false };
    }
    if (!this.defaultProvider) return null;
    return {
      id: name,
      requested: name,
      routes: [{ providerId: this.defaultProvider, upstreamModel: name, priority: 1, weight: 1, price: null }],
      contextLength: null,
      maxOutput: null,
      passthrough: true,
    };
  }
}
