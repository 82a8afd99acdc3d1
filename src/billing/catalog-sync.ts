/**
 * Price-book sync from OpenRouter's GET /api/v1/models. New models are added; a price that moves
 * by more than the guard (CATALOG_SYNC_MAX_CHANGE_PCT) — or to/from zero — is not applied but
 * filed as a pending price change for an admin. Rows an admin set (`source = 'admin'`) are pinned.
 */
import { and, desc, eq, inArray } from "drizzle-orm";
import { writeAudit } from "../audit/index.js";
import { newId } from "../core/ids.js";
import type { Db, DbOrTx } from "../db/client.js";
import { modelPrices, priceChanges } from "../db/schema/index.js";
import { changeBp, perTokenUsdToMicrosPerM, type UnitPrices } from "./pricing.js";

export interface CatalogEntry {
  modelId: string;
  name: string | null;
  prices: UnitPrices;
  contextLength: number | null;
  maxOutput: number | null;
}

/** Price components as stored on a pending change: micros-per-1M strings. */
export type PriceJson = { input: string; output: string; cached_input: string | null; reasoning: string | null };

export function priceToJson(p: UnitPrices): PriceJson {
  return {
    input: p.input.toString(),
    output: p.output.toString(),
    cached_input: p.cachedInput?.toString() ?? null,
    reasoning: p.reasoning?.toString() ?? null,
  };
}

export function priceFromJson(j: Record<string, string | null>): UnitPrices {
  return {
    input: BigInt(j.input ?? "0"),
    output: BigInt(j.output ?? "0"),
    cachedInput: j.cached_input ? BigInt(j.cached_input) : null,
    reasoning: j.reasoning ? BigInt(j.reasoning) : null,
  };
}

const posInt = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : null);

/**
 * OpenRouter's models list → catalog entries. Prices are per-token USD strings. Models with a
 * negative ("variable", e.g. openrouter/auto) or missing prompt/completion price are skipped. A
 * zero cache-read or reasoning price means "not priced separately" (input / output price applies):
 * reading it as free would sell those tokens below cost.
 */
export function parseOpenRouterModels(body: unknown): { entries: CatalogEntry[]; invalid: string[] } {
  const data = (body as { data?: unknown })?.data;
  if (!Array.isArray(data)) throw new Error("not an OpenRouter models response (no data array)");
  const entries: CatalogEntry[] = [];
  const invalid: string[] = [];
  for (const m of data as Array<Record<string, unknown>>) {
    const id = typeof m?.id === "string" ? m.id : null;
    if (!id) continue;
    const pricing = (m.pricing ?? {}) as Record<string, unknown>;
    const input = perTokenUsdToMicrosPerM(pricing.prompt);
    const output = perTokenUsdToMicrosPerM(pricing.completion);
    if (input === null || output === null) {
      invalid.push(id);
      continue;
    }
    const cached = perTokenUsdToMicrosPerM(pricing.input_cache_read);
    const reasoning = perTokenUsdToMicrosPerM(pricing.internal_reasoning);
    const top = (m.top_provider ?? {}) as Record<string, unknown>;
    entries.push({
      modelId: id,
      name: typeof m.name === "string" ? m.name : null,
      prices: { input, output, cachedInput: cached ? cached : null, reasoning: reasoning ? reasoning : null },
      contextLength: posInt(m.context_length) ?? posInt(top.context_length),
      maxOutput: posInt(top.max_completion_tokens),
    });
  }
  return { entries, invalid };
}

export async function fetchOpenRouterModels(baseUrl: string, opts: { apiKey?: string; fetchImpl?: typeof fetch; timeoutMs?: number } = {}): Promise<unknown> {
  const f = opts.fetchImpl ?? fetch;
  const res = await f(`${baseUrl.replace(/\/+$/, "")}/models`, {
    headers: { accept: "application/json", ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}) },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  });
  if (!res.ok) throw new Error(`catalog sync: GET /models answered ${res.status}`);
  return res.json();
}

export interface SyncOptions {
  /** Provider the prices belong to; `*` (default) = the model's price on any provider. */
  providerId?: string;
  /** Guard in percent: larger moves wait for approval. */
  maxChangePct: number;
  actor: string;
}

export interface SyncReport {
  seen: number;
  added: number;
  updated: number;
  unchanged: number;
  /** Filed as pending price changes. */
  held: number;
  /** Admin-pinned rows left alone. */
  pinned: number;
  /** Same change an admin already rejected. */
  rejectedBefore: number;
  invalid: number;
}

const samePrice = (a: UnitPrices, b: UnitPrices) =>
  a.input === b.input && a.output === b.output && a.cachedInput === b.cachedInput && a.reasoning === b.reasoning;

/** Largest relative move among the components; null = a component went to or from zero. */
export function largestChangeBp(oldP: UnitPrices, newP: UnitPrices): number | null {
  let worst = 0;
  const pairs: Array<[bigint, bigint]> = [
    [oldP.input, newP.input],
    [oldP.output, newP.output],
    [oldP.cachedInput ?? oldP.input, newP.cachedInput ?? newP.input],
    [oldP.reasoning ?? oldP.output, newP.reasoning ?? newP.output],
  ];
  for (const [o, n] of pairs) {
    const c = changeBp(o, n);
    if (c === null) return null;
    if (c > worst) worst = c;
  }
  return worst;
}

export async function applyCatalog(db: Db, entries: readonly CatalogEntry[], opts: SyncOptions, invalid = 0): Promise<SyncReport> {
  const providerId = opts.providerId ?? "*";
  const guardBp = Math.round(opts.maxChangePct * 100);
  const report: SyncReport = { seen: entries.length, added: 0, updated: 0, unchanged: 0, held: 0, pinned: 0, rejectedBefore: 0, invalid };
  await db.transaction(async (tx) => {
    const existing = new Map(
      (await tx.select().from(modelPrices).where(eq(modelPrices.providerId, providerId))).map((r) => [r.modelId, r]),
    );
    const decided = await tx
      .select()
      .from(priceChanges)
      .where(and(eq(priceChanges.providerId, providerId), inArray(priceChanges.status, ["pending", "rejected"])));
    const pendingBy = new Map(decided.filter((c) => c.status === "pending").map((c) => [c.modelId, c]));
    const rejectedBy = new Map<string, Array<(typeof decided)[number]>>();
    for (const c of decided) if (c.status === "rejected") rejectedBy.set(c.modelId, [...(rejectedBy.get(c.modelId) ?? []), c]);

    const inserts: Array<typeof modelPrices.$inferInsert> = [];
    for (const e of entries) {
      const row = existing.get(e.modelId);
      const meta = { contextLength: e.contextLength, maxOutput: e.maxOutput, name: e.name };
      if (!row) {
        inserts.push({ modelId: e.modelId, providerId, ...flat(e.prices), ...meta, source: "sync" });
        report.added++;
        continue;
      }
      if (row.source === "admin") {
        report.pinned++;
        continue;
      }
      const old: UnitPrices = { input: row.inputMicrosPerM, output: row.outputMicrosPerM, cachedInput: row.cachedInputMicrosPerM, reasoning: row.reasoningMicrosPerM };
      if (samePrice(old, e.prices)) {
        if (row.contextLength !== e.contextLength || row.maxOutput !== e.maxOutput || row.name !== e.name) {
          await tx.update(modelPrices).set({ ...meta, updatedAt: new Date() }).where(and(eq(modelPrices.modelId, e.modelId), eq(modelPrices.providerId, providerId)));
        }
        report.unchanged++;
        continue;
      }
      const bp = largestChangeBp(old, e.prices);
      if (bp !== null && bp <= guardBp) {
        await tx
          .update(modelPrices)
          .set({ ...flat(e.prices), ...meta, updatedAt: new Date() })
          .where(and(eq(modelPrices.modelId, e.modelId), eq(modelPrices.providerId, providerId)));
        report.updated++;
        continue;
      }
      const newJson = priceToJson(e.prices);
      if ((rejectedBy.get(e.modelId) ?? []).some((c) => sameJson(c.newPrice, newJson))) {
        report.rejectedBefore++;
        continue;
      }
      const pending = pendingBy.get(e.modelId);
      if (pending && sameJson(pending.newPrice, newJson)) {
        report.held++;
        continue;
      }
      if (pending) await tx.update(priceChanges).set({ status: "superseded", decidedAt: new Date(), decidedBy: opts.actor }).where(eq(priceChanges.id, pending.id));
      await tx.insert(priceChanges).values({
        id: newId("priceChange"),
        modelId: e.modelId,
        providerId,
        oldPrice: priceToJson(old),
        newPrice: newJson,
        newMeta: meta,
        changeBp: bp,
        status: "pending",
        source: "sync",
      });
      report.held++;
    }
    for (let i = 0; i < inserts.length; i += 500) await tx.insert(modelPrices).values(inserts.slice(i, i + 500)).onConflictDoNothing();
    await writeAudit(tx, { actor: opts.actor, action: "prices.sync", targetType: "price_book", targetId: providerId, after: report });
  });
  return report;
}

function sameJson(a: Record<string, string | null> | null | undefined, b: PriceJson): boolean {
  if (!a) return false;
  return a.input === b.input && a.output === b.output && (a.cached_input ?? null) === b.cached_input && (a.reasoning ?? null) === b.reasoning;
}

function flat(p: UnitPrices) {
  return {
    inputMicrosPerM: p.input,
    outputMicrosPerM: p.output,
    cachedInputMicrosPerM: p.cachedInput,
    reasoningMicrosPerM: p.reasoning,
  };
}

/** Approves or rejects a pending change; approval writes the price (as a `sync` row) in the same transaction. */
export async function decidePriceChange(
  db: Db,
  id: string,
  decision: "approve" | "reject",
  actor: string,
): Promise<{ ok: true; status: "approved" | "rejected" } | { ok: false; reason: "not_found" | "not_pending" }> {
  return db.transaction(async (tx) => {
    const c = (await tx.select().from(priceChanges).where(eq(priceChanges.id, id)).for("update"))[0];
    if (!c) return { ok: false, reason: "not_found" } as const;
    if (c.status !== "pending") return { ok: false, reason: "not_pending" } as const;
    const status = decision === "approve" ? ("approved" as const) : ("rejected" as const);
    if (status === "approved") await writePrice(tx, c.modelId, c.providerId, priceFromJson(c.newPrice), (c.newMeta ?? {}) as Record<string, unknown>, "sync");
    await tx.update(priceChanges).set({ status, decidedAt: new Date(), decidedBy: actor }).where(eq(priceChanges.id, id));
    await writeAudit(tx, { actor, action: `price_change.${decision}`, targetType: "price_change", targetId: id, before: c, after: { status } });
    return { ok: true, status } as const;
  });
}

async function writePrice(tx: DbOrTx, modelId: string, providerId: string, p: UnitPrices, meta: Record<string, unknown>, source: "sync" | "admin") {
  const m = {
    contextLength: typeof meta.contextLength === "number" ? meta.contextLength : null,
    maxOutput: typeof meta.maxOutput === "number" ? meta.maxOutput : null,
    name: typeof meta.name === "string" ? meta.name : null,
  };
  await tx
    .insert(modelPrices)
    .values({ modelId, providerId, ...flat(p), ...m, source })
    .onConflictDoUpdate({ target: [modelPrices.modelId, modelPrices.providerId], set: { ...flat(p), ...m, source, updatedAt: new Date() } });
}

/** Where the price book comes from and how far one sync may move a price (main/settings.ts). */
export interface CatalogSyncSettings {
  openRouterBaseUrl: string;
  openRouterApiKey: string | null;
  /** A price moving more than this percentage waits in price_changes for an admin. */
  maxChangePct: number;
  /** The scheduled sync runs this often; 0 = only on demand. */
  intervalMin: number;
}

export interface SyncPricesRun {
  /** Who asked (audit actor); default `system:catalog-sync`. */
  actor?: string;
  providerId?: string;
  /** A models response to apply instead of fetching (tests, air-gapped installs). */
  body?: unknown;
  fetchImpl?: typeof fetch;
}

/**
 * The one price-sync verb: the scheduled job, `POST /admin/prices/sync` and the CLI all call it.
 * `onSynced` (the billing service's config cache) runs after every applied sync.
 */
export async function syncPrices(db: Db, settings: Omit<CatalogSyncSettings, "intervalMin">, run: SyncPricesRun = {}, onSynced?: () => void): Promise<SyncReport> {
  const body =
    run.body ?? (await fetchOpenRouterModels(settings.openRouterBaseUrl, { apiKey: settings.openRouterApiKey ?? undefined, fetchImpl: run.fetchImpl }));
  const { entries, invalid } = parseOpenRouterModels(body);
  const report = await applyCatalog(db, entries, { providerId: run.providerId, maxChangePct: settings.maxChangePct, actor: run.actor ?? "system:catalog-sync" }, invalid.length);
  onSynced?.();
  return report;
}

export type PriceChangeStatus = "pending" | "approved" | "rejected" | "superseded";

/** Price changes the sync guard held back (or decided), newest first. */
export async function listPriceChanges(db: DbOrTx, status: PriceChangeStatus, limit = 1000) {
  return db.select().from(priceChanges).where(eq(priceChanges.status, status)).orderBy(desc(priceChanges.createdAt)).limit(limit);
}
