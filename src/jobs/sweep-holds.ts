/**
 * Hold sweeper: holds still open past their expiry were left by a crash (or a bug on some
 * terminal path). Each is settled from the request log when the log recorded usage, priced with
 * the hold's own snapshot, else released. Idempotent (settle/release act only on open holds), safe
 * to run in several processes at once.
 */
import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { holds, requestLogs } from "../db/schema/index.js";
import { releaseHold, settleHold } from "../billing/holds.js";
import { decodeSnapshot, priceUsage } from "../billing/price-plan.js";

export interface SweepOptions {
  /** Holds with expires_at before this are swept; default the database's now(). */
  now?: Date;
  /** Most holds handled in one run. */
  limit?: number;
  logger?: Logger;
}

export interface SweepResult {
  settled: number;
  released: number;
  failed: number;
  /** Sum of the charges the sweeper made, account micros. */
  chargedMicros: bigint;
}

export async function sweepHolds(db: Db, opts: SweepOptions = {}): Promise<SweepResult> {
  const res: SweepResult = { settled: 0, released: 0, failed: 0, chargedMicros: 0n };
  const cutoff = opts.now ? opts.now : sql<Date>`now()`;
  const due = await db
    .select({ requestId: holds.requestId, snapshot: holds.snapshot })
    .from(holds)
    .where(and(eq(holds.status, "open"), lt(holds.expiresAt, cutoff)))
    .orderBy(holds.expiresAt)
    .limit(opts.limit ?? 500);
  for (const h of due) {
    try {
      const log = (
        await db
          .select({
            status: requestLogs.status,
            promptTokens: requestLogs.promptTokens,
            completionTokens: requestLogs.completionTokens,
            cachedTokens: requestLogs.cachedTokens,
            reasoningTokens: requestLogs.reasoningTokens,
            providerId: requestLogs.providerId,
          })
          .from(requestLogs)
          .where(eq(requestLogs.id, h.requestId))
          .limit(1)
      )[0];
      const hasUsage = log && log.status !== "pending" && ((log.promptTokens ?? 0) > 0 || (log.completionTokens ?? 0) > 0);
      if (!hasUsage) {
        if ((await releaseHold(db, h.requestId)) === "ok") res.released++;
        continue;
      }
      const snap = decodeSnapshot(h.snapshot);
      const p = priceUsage(
        snap,
        {
          promptTokens: log.promptTokens ?? 0,
          completionTokens: log.completionTokens ?? 0,
          cachedTokens: log.cachedTokens ?? undefined,
          reasoningTokens: log.reasoningTokens ?? undefined,
          totalTokens: 0,
          estimated: true,
        },
        log.providerId,
        0,
      );
      const o = await settleHold(db, {
        requestId: h.requestId,
        priceMicros: p.priceMicros,
        upstreamCostMicros: p.costMicros,
        totalTokens: p.usage.total,
        promptTokens: Number(p.usage.prompt),
        completionTokens: Number(p.usage.completion),
        providerId: log.providerId,
      });
      if (o.status !== "ok") continue;
      res.settled++;
      res.chargedMicros += o.chargedMicros;
      // The request log missed its price (the process died before settling): record what was charged.
      await db
        .update(requestLogs)
        .set({ priceMicros: o.chargedMicros, upstreamCostMicros: p.costMicros, profitMicros: o.chargedMicros - p.costMicros })
        .where(and(eq(requestLogs.id, h.requestId), isNull(requestLogs.priceMicros)));
    } catch (e) {
      res.failed++;
      opts.logger?.error({ err: e, requestId: h.requestId }, "hold sweeper: could not resolve a hold");
    }
  }
  if (res.settled || res.released || res.failed) {
    opts.logger?.warn({ settled: res.settled, released: res.released, failed: res.failed }, "hold sweeper resolved expired holds");
  }
  return res;
}

/** Runs the sweeper every `intervalMs` (unref'd timer); `stop()` waits for a running sweep. */
export function startHoldSweeper(db: Db, intervalMs: number, logger?: Logger): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepHolds(db, { logger })
      .catch((e) => logger?.error({ err: e }, "hold sweeper failed"))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      if (running) await running;
    },
  };
}
