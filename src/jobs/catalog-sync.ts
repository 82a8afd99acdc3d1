/**
 * Catalog sync on a schedule: every CATALOG_SYNC_INTERVAL_MIN minutes (on demand: the admin
 * endpoint and the CLI call billing's `syncPrices` directly). The guard against large price moves
 * lives in billing/catalog-sync.ts.
 */
import { syncPrices, type CatalogSyncSettings } from "../billing/catalog-sync.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";

/** Starts the schedule when `intervalMin` > 0; `onSynced` lets the caller refresh its price cache. */
export function startCatalogSync(db: Db, settings: CatalogSyncSettings, logger?: Logger, onSynced?: () => void): { stop(): Promise<void> } {
  if (settings.intervalMin <= 0) return { stop: async () => undefined };
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = syncPrices(db, settings, {}, onSynced)
      .then((r) => logger?.info({ report: r }, "catalog sync done"))
      .catch((e) => logger?.error({ err: e }, "catalog sync failed"))
      .finally(() => {
        running = null;
      });
  }, settings.intervalMin * 60_000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      if (running) await running;
    },
  };
}
