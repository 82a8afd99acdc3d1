/**
 * Catalog sync as a job: on demand (admin endpoint, CLI) and optionally every
 * CATALOG_SYNC_INTERVAL_MIN minutes. The guard against large price moves lives in billing/catalog-sync.ts.
 */
import type { Env } from "../config/env.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { applyCatalog, fetchOpenRouterModels, parseOpenRouterModels, type SyncReport } from "../billing/catalog-sync.js";

export interface CatalogSyncRun {
  /** Who asked (audit actor); default `system:catalog-sync`. */
  actor?: string;
  providerId?: string;
  /** A models response to apply instead of fetching (tests, air-gapped installs). */
  body?: unknown;
  fetchImpl?: typeof fetch;
}

export async function runCatalogSync(
  db: Db,
  env: Pick<Env, "OPENROUTER_BASE_URL" | "OPENROUTER_API_KEY" | "CATALOG_SYNC_MAX_CHANGE_PCT">,
  run: CatalogSyncRun = {},
): Promise<SyncReport> {
  const body = run.body ?? (await fetchOpenRouterModels(env.OPENROUTER_BASE_URL, { apiKey: env.OPENROUTER_API_KEY, fetchImpl: run.fetchImpl }));
  const { entries, invalid } = parseOpenRouterModels(body);
  return applyCatalog(
    db,
    entries,
    { providerId: run.providerId, maxChangePct: env.CATALOG_SYNC_MAX_CHANGE_PCT, actor: run.actor ?? "system:catalog-sync" },
    invalid.length,
  );
}

/** Starts the schedule when CATALOG_SYNC_INTERVAL_MIN > 0; `onSynced` lets the caller refresh its price cache. */
export function startCatalogSync(
  db: Db,
  env: Pick<Env, "OPENROUTER_BASE_URL" | "OPENROUTER_API_KEY" | "CATALOG_SYNC_MAX_CHANGE_PCT" | "CATALOG_SYNC_INTERVAL_MIN">,
  logger?: Logger,
  onSynced?: (r: SyncReport) => void,
): { stop(): Promise<void> } {
  if (env.CATALOG_SYNC_INTERVAL_MIN <= 0) return { stop: async () => undefined };
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = runCatalogSync(db, env)
      .then((r) => {
        logger?.info({ report: r }, "catalog sync done");
        onSynced?.(r);
      })
      .catch((e) => logger?.error({ err: e }, "catalog sync failed"))
      .finally(() => {
        running = null;
      });
  }, env.CATALOG_SYNC_INTERVAL_MIN * 60_000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      if (running) await running;
    },
  };
}
