import type { Logger } from "../core/logger.js";
import type { CustomerKeys } from "../upstream-keys/customer-keys.js";

/**
 * Periodic sync of the per-account OpenRouter keys with the accounts: limits follow balances (spending
 * lowers them, admin adjustments move them), blocked accounts' keys are disabled. Top-ups, blocks and
 * unblocks are synced at once by their own hooks; this pass catches everything else. Runs never
 * overlap; several processes may run it (every change is an idempotent PATCH).
 */
export function startUpstreamKeySync(keys: CustomerKeys, intervalMs: number, logger: Logger): { stop(): void } {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const r = await keys.syncAll();
      if (r.updated || r.gone || r.failed) logger.info(r, "upstream customer keys synced");
    } catch (e) {
      logger.warn({ err: (e as Error).message }, "upstream customer key sync failed (next run retries)");
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
