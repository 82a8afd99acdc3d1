import { sql } from "drizzle-orm";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";

export interface RetentionSettings {
  /** Request-log rows older than this many days are folded into request_log_daily and deleted; 0 = keep. */
  requestLogDays: number;
  /** Settled/released holds older than this many days are deleted; 0 = keep. */
  holdDays: number;
  /** Day boundaries of the daily totals (BILLING_TIMEZONE). */
  timeZone: string;
  /** PGlite has no autovacuum: VACUUM after deleting. */
  vacuum: boolean;
}

export interface RetentionRun {
  foldedLogs: number;
  deletedHolds: number;
  vacuumed: boolean;
}

const BATCH = 5000;
const count = (r: unknown): number => {
  const rows = (Array.isArray(r) ? r : ((r as { rows?: unknown[] }).rows ?? [])) as Array<{ n?: number | string }>;
  return Number(rows[0]?.n ?? 0);
};

/**
 * One pass. Old request-log rows leave in batches; each batch is deleted and added to its day's
 * totals in ONE statement (a CTE), so a crash can neither lose a row's figures nor count it twice.
 * Holds are deleted only once settled or released (open holds belong to the sweeper).
 */
export async function runRetention(db: Db, s: RetentionSettings, now: Date): Promise<RetentionRun> {
  const run: RetentionRun = { foldedLogs: 0, deletedHolds: 0, vacuumed: false };
  if (s.requestLogDays > 0) {
    const cutoff = new Date(now.getTime() - s.requestLogDays * 86_400_000).toISOString();
    for (;;) {
      const r = await db.execute(sql`
        with gone as (
          delete from request_logs where id in (select id from request_logs where created_at < ${cutoff}::timestamptz limit ${BATCH})
          returning created_at, account_id, api_key_id, coalesce(served_model, requested_model, '') as model, status,
                    prompt_tokens, completion_tokens, total_tokens, price_micros, upstream_cost_micros, profit_micros
        ), folded as (
          insert into request_log_daily as d (day, account_id, api_key_id, model, requests, failed, prompt_tokens, completion_tokens, total_tokens, price_micros, upstream_cost_micros, profit_micros)
          select to_char(created_at at time zone ${s.timeZone}, 'YYYY-MM-DD'), account_id, coalesce(api_key_id, ''), model,
                 count(*), count(*) filter (where status <> 'completed'),
                 coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
                 coalesce(sum(coalesce(total_tokens, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))), 0),
                 coalesce(sum(price_micros), 0), coalesce(sum(upstream_cost_micros), 0), coalesce(sum(profit_micros), 0)
          from gone group by 1, 2, 3, 4
          on conflict (day, account_id, api_key_id, model) do update set
            requests = d.requests + excluded.requests, failed = d.failed + excluded.failed,
            prompt_tokens = d.prompt_tokens + excluded.prompt_tokens, completion_tokens = d.completion_tokens + excluded.completion_tokens,
            total_tokens = d.total_tokens + excluded.total_tokens, price_micros = d.price_micros + excluded.price_micros,
            upstream_cost_micros = d.upstream_cost_micros + excluded.upstream_cost_micros, profit_micros = d.profit_micros + excluded.profit_micros
        )
        select count(*)::int as n from gone`);
      const n = count(r);
      run.foldedLogs += n;
      if (n < BATCH) break;
    }
  }
  if (s.holdDays > 0) {
    const cutoff = new Date(now.getTime() - s.holdDays * 86_400_000).toISOString();
    for (;;) {
      const r = await db.execute(sql`with gone as (
          delete from holds where request_id in (
            select request_id from holds where status <> 'open' and coalesce(settled_at, created_at) < ${cutoff}::timestamptz limit ${BATCH})
          returning 1) select count(*)::int as n from gone`);
      const n = count(r);
      run.deletedHolds += n;
      if (n < BATCH) break;
    }
  }
  if (s.vacuum && (run.foldedLogs > 0 || run.deletedHolds > 0)) {
    await db.execute(sql`vacuum analyze request_logs`);
    await db.execute(sql`vacuum analyze holds`);
    run.vacuumed = true;
  }
  return run;
}

/** Runs `runRetention` every `intervalMs` (first run one interval after start; no overlap). */
export function startRetention(db: Db, s: RetentionSettings, intervalMs: number, clock: Clock, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = runRetention(db, s, new Date(clock.now()))
      .then((r) => {
        if (r.foldedLogs || r.deletedHolds) logger.info(r, "retention: old request logs folded into daily totals, settled holds pruned");
      })
      .catch((e) => logger.error({ err: e }, "retention run failed"))
      .finally(() => (running = null));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
