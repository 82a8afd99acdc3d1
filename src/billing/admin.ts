/**
 * Admin verbs of billing: balance adjustments, tariffs, the price book, FX rates, tariff
 * assignment. Each write runs in one transaction together with its audit row. Inputs are already
 * validated at the edge (http/routes/admin-billing.ts); amounts arrive as micros / ppm.
 */
import { and, asc, count, desc, eq, ne, sql } from "drizzle-orm";
import { writeAudit } from "../audit/index.js";
import { AppError } from "../core/errors.js";
import { newId } from "../core/ids.js";
import type { Db } from "../db/client.js";
import { accounts, fxRates, ledgerEntries, modelPrices, tariffs } from "../db/schema/index.js";
import { decidePriceChange } from "./catalog-sync.js";
import { postLedgerEntry } from "./ledger.js";
import type { PriceRow } from "./config-cache.js";
import type { MarginRule } from "./margin.js";

// ---------- adjustments ----------

export interface AdjustmentInput {
  accountId: string;
  amountMicros: bigint;
  reason: string;
  idempotencyKey?: string | null;
  allowNegative?: boolean;
  actor: string;
}

export interface AdjustmentResult {
  applied: boolean;
  entryId: string;
  balanceMicros: bigint;
  reservedMicros: bigint;
}

/**
 * Credit (> 0) or debit (< 0) through the ledger. A repeated idempotency key changes nothing and
 * answers the original entry; the same key with a different amount is a conflict. A debit may not
 * take the spendable balance below zero unless `allowNegative`.
 */
export async function adjustBalance(db: Db, a: AdjustmentInput): Promise<AdjustmentResult> {
  if (a.amountMicros === 0n) throw new AppError("invalid_request", "amount must not be zero", { param: "amount" });
  const ref = `adj:${a.accountId}:${a.idempotencyKey ?? newId("ledger")}`;
  return db.transaction(async (tx) => {
    const r = await postLedgerEntry(
      tx,
      { accountId: a.accountId, kind: "adjustment", amountMicros: a.amountMicros, ref, reason: a.reason, actor: a.actor, meta: a.idempotencyKey ? { idempotency_key: a.idempotencyKey } : null },
      { allowNegative: a.allowNegative ?? false },
    );
    if (r.applied === false && r.reason === "account_not_found") throw new AppError("not_found", `No account ${a.accountId}`);
    if (r.applied === false && r.reason === "insufficient_balance") {
      throw new AppError("conflict", "This debit would take the available balance below zero (send allow_negative: true to force it)", { param: "amount" });
    }
    if (r.applied === false && r.reason === "duplicate") {
      const prev = (await tx.select().from(ledgerEntries).where(eq(ledgerEntries.id, r.entryId)))[0]!;
      if (prev.amountMicros !== a.amountMicros) {
        throw new AppError("conflict", "This idempotency_key was already used with a different amount", { param: "idempotency_key" });
      }
    }
    const acct = (await tx.select({ balance: accounts.balanceMicros, reserved: accounts.reservedMicros }).from(accounts).where(eq(accounts.id, a.accountId)))[0]!;
    if (r.applied) {
      await writeAudit(tx, {
        actor: a.actor,
        action: "account.adjust_balance",
        targetType: "account",
        targetId: a.accountId,
        before: { balance_micros: acct.balance - a.amountMicros },
        after: { balance_micros: acct.balance, amount_micros: a.amountMicros, reason: a.reason, entry_id: r.entryId },
      });
    }
    return { applied: r.applied, entryId: r.entryId, balanceMicros: acct.balance, reservedMicros: acct.reserved };
  });
}

// ---------- tariffs ----------

export type TariffRow = typeof tariffs.$inferSelect;

export interface TariffInput {
  name?: string;
  description?: string;
  markupPpm?: bigint;
  isDefault?: boolean;
  status?: "active" | "archived";
  tokenAllowance?: number | null;
  limits?: Record<string, unknown>;
  keyLimits?: Record<string, unknown>;
  allowedModels?: string[] | null;
  modelMarkups?: Record<string, string>;
  rateLimits?: Record<string, unknown>;
  /** Margin guard rule; null = BILLING_MARGIN_RULE. */
  marginRule?: MarginRule | null;
}

export async function listTariffs(db: Db): Promise<Array<TariffRow & { accounts: number }>> {
  const rows = await db.select().from(tariffs).orderBy(desc(tariffs.isDefault), asc(tariffs.name));
  const counts = await db.select({ id: accounts.tariffId, n: count() }).from(accounts).groupBy(accounts.tariffId);
  const by = new Map(counts.map((c) => [c.id, c.n]));
  return rows.map((r) => ({ ...r, accounts: Number(by.get(r.id) ?? 0) }));
}

export async function getTariff(db: Db, id: string): Promise<TariffRow | null> {
  return (await db.select().from(tariffs).where(eq(tariffs.id, id)))[0] ?? null;
}

function uniqueName(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.code === "23505" || err?.cause?.code === "23505";
}

export async function createTariff(db: Db, input: TariffInput & { name: string; markupPpm: bigint }, actor: string): Promise<TariffRow> {
  try {
    return await db.transaction(async (tx) => {
      if (input.isDefault) await tx.update(tariffs).set({ isDefault: false, updatedAt: new Date() }).where(eq(tariffs.isDefault, true));
      const [row] = await tx
        .insert(tariffs)
        .values({
          id: newId("tariff"),
          name: input.name,
          description: input.description ?? "",
          markupPpm: input.markupPpm,
          isDefault: input.isDefault ?? false,
          status: input.status ?? "active",
          tokenAllowance: input.tokenAllowance ?? null,
          limits: input.limits ?? {},
          keyLimits: input.keyLimits ?? {},
          allowedModels: input.allowedModels ?? null,
          modelMarkups: input.modelMarkups ?? {},
          rateLimits: input.rateLimits ?? {},
          marginRule: input.marginRule ?? null,
        })
        .returning();
      await writeAudit(tx, { actor, action: "tariff.create", targetType: "tariff", targetId: row!.id, after: row });
      return row!;
    });
  } catch (e) {
    if (uniqueName(e)) throw new AppError("conflict", `A tariff named ${JSON.stringify(input.name)} exists`, { param: "name" });
    throw e;
  }
}

export async function updateTariff(db: Db, id: string, input: TariffInput, actor: string): Promise<TariffRow> {
  try {
    return await db.transaction(async (tx) => {
      const before = (await tx.select().from(tariffs).where(eq(tariffs.id, id)).for("update"))[0];
      if (!before) throw new AppError("not_found", `No tariff ${id}`);
      if (input.isDefault === false && before.isDefault) {
        throw new AppError("conflict", "Make another tariff the default instead of unsetting this one", { param: "is_default" });
      }
      if (input.status === "archived" && before.isDefault) throw new AppError("conflict", "The default tariff can't be archived", { param: "status" });
      if (input.isDefault && !before.isDefault) {
        await tx.update(tariffs).set({ isDefault: false, updatedAt: new Date() }).where(and(eq(tariffs.isDefault, true), ne(tariffs.id, id)));
      }
      const set: Partial<typeof tariffs.$inferInsert> = { updatedAt: new Date() };
      if (input.name !== undefined) set.name = input.name;
      if (input.description !== undefined) set.description = input.description;
      if (input.markupPpm !== undefined) set.markupPpm = input.markupPpm;
      if (input.isDefault !== undefined) set.isDefault = input.isDefault;
      if (input.status !== undefined) set.status = input.status;
      if (input.tokenAllowance !== undefined) set.tokenAllowance = input.tokenAllowance;
      if (input.limits !== undefined) set.limits = input.limits;
      if (input.keyLimits !== undefined) set.keyLimits = input.keyLimits;
      if (input.allowedModels !== undefined) set.allowedModels = input.allowedModels;
      if (input.modelMarkups !== undefined) set.modelMarkups = input.modelMarkups;
      if (input.rateLimits !== undefined) set.rateLimits = input.rateLimits;
      if (input.marginRule !== undefined) set.marginRule = input.marginRule;
      const [row] = await tx.update(tariffs).set(set).where(eq(tariffs.id, id)).returning();
      await writeAudit(tx, { actor, action: "tariff.update", targetType: "tariff", targetId: id, before, after: row });
      return row!;
    });
  } catch (e) {
    if (uniqueName(e)) throw new AppError("conflict", `A tariff named ${JSON.stringify(input.name)} exists`, { param: "name" });
    throw e;
  }
}

/** Deletes an unused tariff; one that accounts use (or the default) is a conflict: archive it instead. */
export async function deleteTariff(db: Db, id: string, actor: string): Promise<void> {
  await db.transaction(async (tx) => {
    const before = (await tx.select().from(tariffs).where(eq(tariffs.id, id)).for("update"))[0];
    if (!before) throw new AppError("not_found", `No tariff ${id}`);
    if (before.isDefault) throw new AppError("conflict", "The default tariff can't be deleted");
    const used = await tx.select({ n: count() }).from(accounts).where(eq(accounts.tariffId, id));
    if (Number(used[0]?.n ?? 0) > 0) throw new AppError("conflict", `${used[0]!.n} account(s) use this tariff; archive it or move them first`);
    const keysUsing = await tx.execute(sql`select count(*)::int as n from api_keys where limits->>'tariff_id' = ${id}`);
    if (Number((keysUsing as unknown as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0) > 0) {
      throw new AppError("conflict", "API keys use this tariff; archive it or change them first");
    }
    await tx.delete(tariffs).where(eq(tariffs.id, id));
    await writeAudit(tx, { actor, action: "tariff.delete", targetType: "tariff", targetId: id, before });
  });
}

/** Puts an account on a tariff (null = the default tariff). */
export async function assignTariff(db: Db, accountId: string, tariffId: string | null, actor: string): Promise<{ accountId: string; tariffId: string | null }> {
  return db.transaction(async (tx) => {
    const before = (await tx.select({ tariffId: accounts.tariffId }).from(accounts).where(eq(accounts.id, accountId)).for("update"))[0];
    if (!before) throw new AppError("not_found", `No account ${accountId}`);
    if (tariffId !== null) {
      const t = (await tx.select({ status: tariffs.status }).from(tariffs).where(eq(tariffs.id, tariffId)))[0];
      if (!t) throw new AppError("not_found", `No tariff ${tariffId}`, { param: "tariff_id" });
      if (t.status !== "active") throw new AppError("conflict", "This tariff is archived", { param: "tariff_id" });
    }
    await tx.update(accounts).set({ tariffId, updatedAt: new Date() }).where(eq(accounts.id, accountId));
    await writeAudit(tx, { actor, action: "account.set_tariff", targetType: "account", targetId: accountId, before, after: { tariffId } });
    return { accountId, tariffId };
  });
}

// ---------- price book ----------

export type PriceBookRow = typeof modelPrices.$inferSelect;

/** A price-book entry an admin writes: the cached row's fields but its source (always "admin"). */
export type PriceInput = Omit<PriceRow, "source">;

export async function listPrices(db: Db, f: { modelId?: string; source?: "admin" | "sync"; limit: number; offset: number }): Promise<{ rows: PriceBookRow[]; total: number }> {
  const where = and(
    f.modelId ? sql`${modelPrices.modelId} ilike ${"%" + f.modelId.replace(/[%_\\]/g, "\\$&") + "%"}` : undefined,
    f.source ? eq(modelPrices.source, f.source) : undefined,
  );
  const [rows, total] = await Promise.all([
    db.select().from(modelPrices).where(where).orderBy(asc(modelPrices.modelId), asc(modelPrices.providerId)).limit(f.limit).offset(f.offset),
    db.select({ n: count() }).from(modelPrices).where(where),
  ]);
  return { rows, total: Number(total[0]?.n ?? 0) };
}

/** Admin-set prices are pinned (`source = 'admin'`): catalog sync leaves them alone. */
export async function upsertPrice(db: Db, p: PriceInput, actor: string): Promise<PriceBookRow> {
  return db.transaction(async (tx) => {
    const before = (await tx.select().from(modelPrices).where(and(eq(modelPrices.modelId, p.modelId), eq(modelPrices.providerId, p.providerId))))[0] ?? null;
    const values = {
      inputMicrosPerM: p.prices.input,
      outputMicrosPerM: p.prices.output,
      cachedInputMicrosPerM: p.prices.cachedInput,
      cacheWriteMicrosPerM: p.prices.cacheWrite ?? null,
      reasoningMicrosPerM: p.prices.reasoning,
      markupPpm: p.markupPpm,
      contextLength: p.contextLength,
      maxOutput: p.maxOutput,
      name: p.name,
      source: "admin" as const,
      updatedAt: new Date(),
    };
    const [row] = await tx
      .insert(modelPrices)
      .values({ modelId: p.modelId, providerId: p.providerId, ...values })
      .onConflictDoUpdate({ target: [modelPrices.modelId, modelPrices.providerId], set: values })
      .returning();
    await writeAudit(tx, { actor, action: before ? "price.update" : "price.create", targetType: "model_price", targetId: `${p.modelId}@${p.providerId}`, before, after: row });
    return row!;
  });
}

export async function deletePrice(db: Db, modelId: string, providerId: string, actor: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(modelPrices).where(and(eq(modelPrices.modelId, modelId), eq(modelPrices.providerId, providerId))).returning();
    if (!row) throw new AppError("not_found", `No price for ${modelId} on ${providerId}`);
    await writeAudit(tx, { actor, action: "price.delete", targetType: "model_price", targetId: `${modelId}@${providerId}`, before: row });
  });
}

// ---------- FX rates ----------

export async function listFxRates(db: Db, currency: string, limit = 100) {
  return db.select().from(fxRates).where(eq(fxRates.currency, currency)).orderBy(desc(fxRates.id)).limit(limit);
}

export async function setFxRate(db: Db, currency: string, rateMicros: bigint, reason: string | null, actor: string) {
  return db.transaction(async (tx) => {
    const before = (await tx.select().from(fxRates).where(eq(fxRates.currency, currency)).orderBy(desc(fxRates.id)).limit(1))[0] ?? null;
    const [row] = await tx.insert(fxRates).values({ currency, rateMicros, actor, reason }).returning();
    await writeAudit(tx, { actor, action: "fx_rate.set", targetType: "fx_rate", targetId: currency, before, after: row });
    return row!;
  });
}

/**
 * The price-book and tariff writes with their side effect: after each one commits, `onChanged`
 * refreshes what billing prices with (its config cache), so no caller can forget it.
 */
export function billingAdminWrites(db: Db, onChanged: () => void, onKeysChanged: (filter?: { accountId?: string }) => void) {
  const then =
    <A extends unknown[], R>(write: (db: Db, ...args: A) => Promise<R>, keys?: (...args: A) => { accountId?: string } | undefined) =>
    async (...args: A): Promise<R> => {
      const result = await write(db, ...args);
      onChanged();
      // Verified keys carry their tariff's rate limits: a tariff change reaches them at once.
      if (keys) onKeysChanged(keys(...args));
      return result;
    };
  return {
    createTariff: then(createTariff),
    updateTariff: then(updateTariff, () => undefined),
    deleteTariff: then(deleteTariff, () => undefined),
    assignTariff: then(assignTariff, (accountId) => ({ accountId })),
    upsertPrice: then(upsertPrice),
    deletePrice: then(deletePrice),
    setFxRate: then(setFxRate),
    decidePriceChange: then(decidePriceChange),
  };
}

export type BillingAdminWrites = ReturnType<typeof billingAdminWrites>;
