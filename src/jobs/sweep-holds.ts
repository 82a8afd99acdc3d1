/**
 * Hold sweeper: holds still open past their expiry were left by a crash (or a bug on some
 * terminal path) — a live stream keeps extending its hold (src/billing/stream-progress.ts), so an
 * expired one has nobody serving it. Each is settled for the most the request is known to have
 * used, priced with the hold's own snapshot:
 *   - the request log's final usage, when the process wrote it before dying;
 *   - the stream progress recorded on the hold (an upper bound of what was delivered, written
 *     before delivery), when larger or when there is no final row;
 *   - else (nothing reached the client) it is released.
 * Then the request's log row is closed: a `pending` row (or a missing one — its process died with
 * it in memory) becomes `interrupted` with the billed tokens and price.
 *
 * A second pass closes `pending` log rows whose hold is no longer open (the process settled, then
 * died before the final row was written): `interrupted`, with the hold's billed usage.
 *
 * Idempotent (settle/release act only on open holds; log rows only move out of `pending`), safe to
 * run in several processes at once.
 */
import { and, eq, lt, sql } from "drizzle-orm";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { holds, requestLogs } from "../db/schema/index.js";
import { releaseHold, settleHold } from "../billing/holds.js";
import { decodeSnapshot, priceUsage } from "../billing/price-plan.js";
import { expiredLeases, giveBack } from "../billing/lease-store.js";

export interface SweepOptions {
  /** Holds with expires_at before this are swept; default the database's now(). */
  now?: Date;
  /** Most holds handled in one run. */
  limit?: number;
  /**
   * Balance leases with expires_at before this are closed; default the database's now() — not
   * `now`: a live process keeps its leases renewed, and only real time says it stopped.
   */
  leasesAt?: Date;
  /** A `pending` log row whose hold is closed is left alone this long (its final row may still be on its way). */
  pendingGraceMs?: number;
  logger?: Logger;
}

export interface SweepResult {
  settled: number;
  released: number;
  failed: number;
  /** Sum of the charges the sweeper made, account micros. */
  chargedMicros: bigint;
  /** Of `settled`: holds settled for their recorded stream progress. */
  fromProgress: number;
  /** Request-log rows the sweeper closed (`interrupted`) or wrote for a lost one. */
  logsClosed: number;
  /** Balance leases past their expiry (their process is gone) closed, and what they gave back. */
  leasesExpired: number;
  leaseReturnedMicros: bigint;
}

export async function sweepHolds(db: Db, opts: SweepOptions = {}): Promise<SweepResult> {
  const res: SweepResult = { settled: 0, released: 0, failed: 0, chargedMicros: 0n, fromProgress: 0, logsClosed: 0, leasesExpired: 0, leaseReturnedMicros: 0n };
  const cutoff = opts.now ? opts.now : sql<Date>`now()`;
  const due = await db
    .select({
      requestId: holds.requestId,
      accountId: holds.accountId,
      keyId: holds.keyId,
      model: holds.model,
      snapshot: holds.snapshot,
      createdAt: holds.createdAt,
      progressPrompt: holds.progressPromptTokens,
      progressCompletion: holds.progressCompletionTokens,
    })
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
            servedModel: requestLogs.servedModel,
          })
          .from(requestLogs)
          .where(eq(requestLogs.id, h.requestId))
          .limit(1)
      )[0];
      const final = log && log.status !== "pending" && log.status !== "interrupted" ? log : null;
      const logPrompt = final?.promptTokens ?? 0;
      const logCompletion = final?.completionTokens ?? 0;
      const progPrompt = h.progressPrompt ?? 0;
      const progCompletion = h.progressCompletion ?? 0;
      // The final row is what the upstream reported; the progress is what may have been delivered.
      const fromProgress = progCompletion > logCompletion;
      const prompt = Math.max(logPrompt, fromProgress || !final ? progPrompt : 0);
      const completion = Math.max(logCompletion, progCompletion);
      if (prompt + completion <= 0) {
        if ((await releaseHold(db, h.requestId)) === "ok") {
          res.released++;
          res.logsClosed += await closeLog(db, h, { prompt: 0, completion: 0, price: 0n, cost: 0n, providerId: null, reason: "released" });
        }
        continue;
      }
      const snap = decodeSnapshot(h.snapshot);
      const providerId = final?.providerId ?? null;
      const p = priceUsage(
        snap,
        {
          promptTokens: prompt,
          completionTokens: completion,
          cachedTokens: fromProgress ? undefined : (final?.cachedTokens ?? undefined),
          reasoningTokens: fromProgress ? undefined : (final?.reasoningTokens ?? undefined),
          totalTokens: 0,
          estimated: true,
        },
        providerId,
        0,
        // A `models` fallback that served is priced as that model (the row names the upstream's model).
        { upstreamModel: final?.servedModel ?? null },
      );
      const o = await settleHold(db, {
        requestId: h.requestId,
        priceMicros: p.priceMicros,
        upstreamCostMicros: p.costMicros,
        totalTokens: p.usage.total,
        promptTokens: Number(p.usage.prompt),
        completionTokens: Number(p.usage.completion),
        providerId,
      });
      if (o.status !== "ok") continue;
      res.settled++;
      if (fromProgress || !final) res.fromProgress++;
      res.chargedMicros += o.chargedMicros;
      if (final) {
        // The request log missed its price (the process died before settling): record what was charged.
        await db
          .update(requestLogs)
          .set({
            priceMicros: o.chargedMicros,
            upstreamCostMicros: p.costMicros,
            profitMicros: o.chargedMicros - p.costMicros,
            ...(fromProgress ? { completionTokens: completion, totalTokens: prompt + completion, estimated: true } : {}),
          })
          .where(eq(requestLogs.id, h.requestId));
      } else {
        res.logsClosed += await closeLog(db, h, { prompt, completion, price: o.chargedMicros, cost: p.costMicros, providerId, reason: "progress" });
      }
    } catch (e) {
      res.failed++;
      opts.logger?.error({ err: e, requestId: h.requestId }, "hold sweeper: could not resolve a hold");
    }
  }
  try {
    // A lease's process renews it while it lives; past its expiry nobody admits on it any more.
    const expired = await expiredLeases(db, opts.leasesAt ?? null, opts.limit ?? 500);
    if (expired.length) {
      res.leaseReturnedMicros = await giveBack(db, expired, { status: "expired", expiredBefore: opts.leasesAt ?? null });
      res.leasesExpired = expired.length;
    }
  } catch (e) {
    res.failed++;
    opts.logger?.error({ err: e }, "hold sweeper: could not close expired balance leases");
  }
  try {
    res.logsClosed += await closeOrphanedLogs(db, opts);
  } catch (e) {
    res.failed++;
    opts.logger?.error({ err: e }, "hold sweeper: could not close orphaned request-log rows");
  }
  if (res.settled || res.released || res.failed || res.logsClosed || res.leasesExpired) {
    opts.logger?.warn(
      { settled: res.settled, fromProgress: res.fromProgress, released: res.released, failed: res.failed, logsClosed: res.logsClosed, leasesExpired: res.leasesExpired },
      "hold sweeper resolved expired holds",
    );
  }
  return res;
}

interface SweptHold {
  requestId: string;
  accountId: string;
  keyId: string | null;
  model: string;
  createdAt: Date;
}

/**
 * Marks the request's log row `interrupted` with what was billed — or writes it, when its process
 * died with the row still in memory (endpoint then unknown). A final row is never overwritten.
 */
async function closeLog(
  db: Db,
  h: SweptHold,
  u: { prompt: number; completion: number; price: bigint; cost: bigint; providerId: string | null; reason: "progress" | "released" },
): Promise<number> {
  const meta = JSON.stringify({ closed_by: "hold_sweeper", billed_from: u.reason });
  const r = await db.execute(sql`
    insert into request_logs (id, account_id, api_key_id, endpoint, requested_model, provider_id, stream, status,
                              prompt_tokens, completion_tokens, total_tokens, estimated, error_code,
                              upstream_cost_micros, price_micros, profit_micros, meta, created_at, completed_at)
    values (${h.requestId}, ${h.accountId}, ${h.keyId}, 'unknown', ${h.model}, ${u.providerId}, false, 'interrupted',
            ${u.prompt}, ${u.completion}, ${u.prompt + u.completion}, true, 'gateway_interrupted',
            ${u.cost.toString()}::bigint, ${u.price.toString()}::bigint, ${(u.price - u.cost).toString()}::bigint,
            ${meta}::jsonb, ${h.createdAt.toISOString()}::timestamptz, now())
    on conflict (id) do update set
      status = 'interrupted', prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
      total_tokens = excluded.total_tokens, estimated = true, error_code = 'gateway_interrupted',
      upstream_cost_micros = excluded.upstream_cost_micros, price_micros = excluded.price_micros,
      profit_micros = excluded.profit_micros,
      meta = coalesce(request_logs.meta, '{}'::jsonb) || excluded.meta, completed_at = now()
    where request_logs.status = 'pending'`);
  return affected(r);
}

/** `pending` rows older than the grace whose hold is closed (or gone): `interrupted`, with the hold's billed usage (or, leased, the ledger's charge). */
async function closeOrphanedLogs(db: Db, opts: SweepOptions): Promise<number> {
  const grace = opts.pendingGraceMs ?? 120_000;
  const before = opts.now ? sql`${new Date(opts.now.getTime() - grace).toISOString()}::timestamptz` : sql`now() - ${grace} * interval '1 millisecond'`;
  const r = await db.execute(sql`
    with orphans as (
      select r.id from request_logs r
      left join holds h on h.request_id = r.id
      where r.status = 'pending' and r.created_at < ${before} and (h.request_id is null or h.status <> 'open')
      order by r.created_at
      limit ${opts.limit ?? 500}
    )
    update request_logs r set
      status = 'interrupted',
      prompt_tokens = coalesce(h.prompt_tokens, 0),
      completion_tokens = coalesce(h.completion_tokens, 0),
      total_tokens = coalesce(h.prompt_tokens, 0) + coalesce(h.completion_tokens, 0),
      provider_id = coalesce(r.provider_id, h.provider_id),
      price_micros = coalesce(h.charged_micros, -l.amount_micros, 0),
      upstream_cost_micros = coalesce(h.upstream_cost_micros, 0),
      profit_micros = coalesce(h.charged_micros, -l.amount_micros, 0) - coalesce(h.upstream_cost_micros, 0),
      estimated = true,
      error_code = 'gateway_interrupted',
      meta = coalesce(r.meta, '{}'::jsonb) || jsonb_build_object('closed_by', 'hold_sweeper', 'hold_status', coalesce(h.status, 'none')),
      completed_at = now()
    from orphans o left join holds h on h.request_id = o.id
      -- A leased request has no hold: what it was charged (a replayed stream's bound) is its usage ledger row.
      left join ledger_entries l on h.request_id is null and l.kind = 'usage' and l.ref = o.id
    where r.id = o.id and r.status = 'pending'`);
  return affected(r);
}

function affected(r: unknown): number {
  const x = r as { rowCount?: number | null; affectedRows?: number };
  return x.rowCount ?? x.affectedRows ?? 0;
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
