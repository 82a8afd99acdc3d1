/**
 * The billing settings every request needs (tariffs, the price book, the FX rate), loaded whole
 * into memory and refreshed every BILLING_CACHE_TTL_MS. They are small, read on every request and
 * written rarely; this process's own admin writes invalidate at once, other processes' show up
 * within the TTL. A hold snapshots the prices it used, so a refresh never changes a running request.
 */
import type { MarginRule } from "./margin.js";
import { desc, eq } from "drizzle-orm";
import type { Clock } from "../core/clock.js";
import type { Db } from "../db/client.js";
import { fxRates, modelPrices, tariffs } from "../db/schema/index.js";
import { parsePositiveMillionths, type UnitPrices } from "./pricing.js";

export interface TariffInfo {
  id: string;
  name: string;
  description: string;
  markupPpm: bigint;
  isDefault: boolean;
  status: "active" | "archived";
  tokenAllowance: number | null;
  limits: Record<string, unknown>;
  keyLimits: Record<string, unknown>;
  allowedModels: string[] | null;
  modelMarkups: Map<string, bigint>;
  rateLimits: Record<string, unknown>;
  /** Null = the BILLING_MARGIN_RULE default. */
  marginRule: MarginRule | null;
}

export interface PriceRow {
  modelId: string;
  providerId: string;
  prices: UnitPrices;
  markupPpm: bigint | null;
  contextLength: number | null;
  maxOutput: number | null;
  name: string | null;
  source: "admin" | "sync";
}

export interface BillingSnapshot {
  /** Bumped on every load; caches derived from a snapshot key on it. */
  version: number;
  tariffs: Map<string, TariffInfo>;
  defaultTariff: TariffInfo;
  prices: Map<string, PriceRow>;
  rateMicros: bigint;
  currency: string;
}

export const priceKey = (modelId: string, providerId: string) => `${modelId}\u0000${providerId}`;

export function toTariffInfo(r: typeof tariffs.$inferSelect): TariffInfo {
  const mm = new Map<string, bigint>();
  for (const [model, v] of Object.entries(r.modelMarkups ?? {})) {
    try {
      mm.set(model, parsePositiveMillionths(String(v), "model markup"));
    } catch {
      /* validated on write; a bad legacy value is ignored rather than breaking every request */
    }
  }
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    markupPpm: r.markupPpm,
    isDefault: r.isDefault,
    status: r.status,
    tokenAllowance: r.tokenAllowance ?? null,
    limits: r.limits ?? {},
    keyLimits: r.keyLimits ?? {},
    allowedModels: r.allowedModels ?? null,
    modelMarkups: mm,
    rateLimits: r.rateLimits ?? {},
    marginRule: r.marginRule ?? null,
  };
}

export function toPriceRow(r: typeof modelPrices.$inferSelect): PriceRow {
  return {
    modelId: r.modelId,
    providerId: r.providerId,
    prices: {
      input: r.inputMicrosPerM,
      output: r.outputMicrosPerM,
      cachedInput: r.cachedInputMicrosPerM ?? null,
      cacheWrite: r.cacheWriteMicrosPerM ?? null,
      reasoning: r.reasoningMicrosPerM ?? null,
    },
    markupPpm: r.markupPpm ?? null,
    contextLength: r.contextLength ?? null,
    maxOutput: r.maxOutput ?? null,
    name: r.name ?? null,
    source: r.source,
  };
}

export interface BillingConfigOptions {
  currency: string;
  /** USD_RATE from the environment, used until the first fx_rates row exists. */
  defaultRateMicros: bigint;
  /** DEFAULT_MARKUP, used only if the default tariff row is missing. */
  defaultMarkupPpm: bigint;
  ttlMs: number;
  clock: Clock;
}

export class BillingConfig {
  private snap: BillingSnapshot | null = null;
  private loadedAt = 0;
  private loading: Promise<BillingSnapshot> | null = null;
  private version = 0;
  /** Bumped by invalidate(); a load that started before the bump doesn't satisfy it. */
  private wanted = 0;
  private loadedGen = 0;

  constructor(
    private readonly db: Db,
    private readonly opts: BillingConfigOptions,
  ) {}

  get currency(): string {
    return this.opts.currency;
  }

  /** The current snapshot; a merely old one is served while a reload runs in the background. */
  get(): Promise<BillingSnapshot> | BillingSnapshot {
    const s = this.snap;
    const invalidated = this.loadedGen < this.wanted;
    if (s && !invalidated) {
      if (this.opts.clock.now() - this.loadedAt >= this.opts.ttlMs) void this.reload().catch(() => undefined);
      if (this.opts.ttlMs > 0 || this.loading === null) return s;
    }
    return this.reload();
  }

  /** Reads the database now. */
  refresh(): Promise<BillingSnapshot> {
    this.wanted++;
    return this.reload();
  }

  /** After a write in this process: the next get() waits for fresh data instead of serving the old copy. */
  invalidate(): void {
    this.wanted++;
  }

  private reload(): Promise<BillingSnapshot> {
    const gen = this.wanted;
    const running = this.loading;
    if (running && this.loadingGen >= gen) return running;
    const next = (running ? running.catch(() => undefined) : Promise.resolve()).then(() => this.load(gen));
    this.loading = next;
    this.loadingGen = gen;
    void next.finally(() => {
      if (this.loading === next) this.loading = null;
    }).catch(() => undefined);
    return next;
  }
  private loadingGen = -1;

  private async load(gen: number): Promise<BillingSnapshot> {
    const started = this.opts.clock.now();
    const [tRows, pRows, fx] = await Promise.all([
      this.db.select().from(tariffs),
      this.db.select().from(modelPrices),
      this.db
        .select({ rate: fxRates.rateMicros })
        .from(fxRates)
        .where(eq(fxRates.currency, this.opts.currency))
        .orderBy(desc(fxRates.id))
        .limit(1),
    ]);
    const tmap = new Map<string, TariffInfo>();
    let def: TariffInfo | null = null;
    for (const r of tRows) {
      const t = toTariffInfo(r);
      tmap.set(t.id, t);
      if (t.isDefault) def = t;
    }
    def ??= {
      id: "default",
      name: "default",
      description: "",
      markupPpm: this.opts.defaultMarkupPpm,
      isDefault: true,
      status: "active",
      tokenAllowance: null,
      limits: {},
      keyLimits: {},
      allowedModels: null,
      modelMarkups: new Map(),
      rateLimits: {},
      marginRule: null,
    };
    const pmap = new Map<string, PriceRow>();
    for (const r of pRows) pmap.set(priceKey(r.modelId, r.providerId), toPriceRow(r));
    const snap: BillingSnapshot = {
      version: ++this.version,
      tariffs: tmap,
      defaultTariff: def,
      prices: pmap,
      rateMicros: fx[0]?.rate ?? this.opts.defaultRateMicros,
      currency: this.opts.currency,
    };
    this.snap = snap;
    this.loadedAt = started;
    if (gen > this.loadedGen) this.loadedGen = gen;
    return snap;
  }
}
