import { eq, sql } from "drizzle-orm";
import { newId } from "../core/ids.js";
import type { Db } from "../db/client.js";
import { fxRates, tariffs } from "../db/schema/index.js";

/**
 * Start-up: creates the default tariff (markup DEFAULT_MARKUP) if there is none, and records
 * USD_RATE as the first FX rate if the currency has no rate yet (afterwards the rate changes only
 * through the admin endpoint, with history). Safe to run from several processes at once. The
 * hold/settle SQL functions are not created here: they are a migration
 * (drizzle/0005_billing_functions.sql).
 */
export interface BillingDefaults {
  currency: string;
  /** USD_RATE in micro-units of the currency per dollar. */
  usdRateMicros: bigint;
  /** DEFAULT_MARKUP in parts per million. */
  defaultMarkupPpm: bigint;
}

export async function ensureBillingDefaults(db: Db, defaults: BillingDefaults): Promise<void> {
  const markupPpm = defaults.defaultMarkupPpm;
  const hasDefault = await db.select({ id: tariffs.id }).from(tariffs).where(eq(tariffs.isDefault, true)).limit(1);
  if (!hasDefault[0]) {
    // The partial unique index on is_default makes a concurrent second insert a no-op.
    await db
      .insert(tariffs)
      .values({ id: newId("tariff"), name: "default", description: "Default plan", markupPpm, isDefault: true })
      .onConflictDoNothing();
  }
  const rate = await db.select({ id: fxRates.id }).from(fxRates).where(eq(fxRates.currency, defaults.currency)).limit(1);
  if (!rate[0]) {
    await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(727276)`);
      const again = await tx.select({ id: fxRates.id }).from(fxRates).where(eq(fxRates.currency, defaults.currency)).limit(1);
      if (again[0]) return;
      await tx.insert(fxRates).values({
        currency: defaults.currency,
        rateMicros: defaults.usdRateMicros,
        actor: "system",
        reason: "initial rate from USD_RATE",
      });
    });
  }
}
