/**
 * The database side of balance leases (see lease.ts): take a slice, renew, give back, and apply a
 * batch of journaled charges. Plain statements (no plpgsql), so they run alike on PostgreSQL and
 * PGlite. Lock order is billing's everywhere: account rows (sorted) → lease rows (sorted).
 */
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db/client.js";
import { FN_LEASE_APPLY } from "./sql.js";

type Row = Record<string, unknown>;
const rowsOf = (r: unknown): Row[] => (r as { rows: Row[] }).rows;
const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(v as string | number | bigint));
const jsonIds = (ids: Iterable<string>) => JSON.stringify([...new Set(ids)].sort());

export interface TakeLease {
  id: string;
  accountId: string;
  instanceId: string;
  /** What the process would like (its recent demand). */
  wantMicros: bigint;
  /** Below this nothing is taken (the request holds in the database instead). */
  minMicros: bigint;
  ttlMs: number;
}

/**
 * Takes `min(want, spendable / 2)` of an active account's spendable balance into a new lease, in one
 * statement: the account row is locked, `reserved_micros` grows by the slice. Returns 0n when the
 * account can't spare `minMicros` (or is blocked or unknown). Σ open leases and holds never pass
 * the balance, whatever the number of processes.
 */
export async function takeLease(db: DbOrTx, t: TakeLease): Promise<bigint> {
  const r = await db.execute(sql`
    with a as (
      select id, balance_micros - reserved_micros as avail from accounts
      where id = ${t.accountId} and status = 'active' for update
    ), g as (
      select id, least(${t.wantMicros.toString()}::bigint, a.avail / 2) as amt from a
    ), ok as (
      select id, amt from g where amt >= ${t.minMicros.toString()}::bigint and amt > 0
    ), u as (
      update accounts set reserved_micros = reserved_micros + ok.amt, updated_at = now()
      from ok where accounts.id = ok.id returning ok.amt
    ), i as (
      insert into balance_leases (id, account_id, instance_id, status, amount_micros, granted_micros, expires_at)
      select ${t.id}, ${t.accountId}, ${t.instanceId}, 'open', amt, amt, now() + ${t.ttlMs} * interval '1 millisecond' from u
      returning amount_micros
    )
    select (select amount_micros from i) as granted`);
  return big(rowsOf(r)[0]?.granted);
}

/** Pushes the expiry of open leases; returns the ids still open with their account's status. */
export async function renewLeases(db: DbOrTx, ids: readonly string[], ttlMs: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const r = await db.execute(sql`
    update balance_leases b set expires_at = now() + ${ttlMs} * interval '1 millisecond'
    from accounts a
    where b.id in (select jsonb_array_elements_text(${jsonIds(ids)}::jsonb)) and b.status = 'open' and a.id = b.account_id
    returning b.id, a.status`);
  for (const row of rowsOf(r)) out.set(row.id as string, row.status as string);
  return out;
}

export interface LeaseGiveBack {
  leaseId: string;
  accountId: string;
  /** How much to give back; null = all it still reserves, and the lease is closed. */
  micros: bigint | null;
}

/**
 * Gives back part or all of open leases: the lease's amount and the account's reserved_micros fall
 * together (one transaction). `expiredOnly` (the sweeper) acts only on leases past their expiry.
 * Returns the total given back.
 */
export async function giveBack(db: DbOrTx, items: readonly LeaseGiveBack[], opts: { status?: "returned" | "expired"; expiredBefore?: Date | null } = {}): Promise<bigint> {
  if (items.length === 0) return 0n;
  const status = opts.status ?? "returned";
  return db.transaction(async (tx) => {
    await tx.execute(sql`select id from accounts where id in (select jsonb_array_elements_text(${jsonIds(items.map((i) => i.accountId))}::jsonb)) order by id for update`);
    const cutoff = opts.expiredBefore === undefined ? sql`true` : opts.expiredBefore === null ? sql`expires_at < now()` : sql`expires_at < ${opts.expiredBefore.toISOString()}::timestamptz`;
    const locked = rowsOf(
      await tx.execute(sql`select id, account_id, amount_micros from balance_leases
        where id in (select jsonb_array_elements_text(${jsonIds(items.map((i) => i.leaseId))}::jsonb)) and status = 'open' and ${cutoff}
        order by id for update`),
    );
    const want = new Map(items.map((i) => [i.leaseId, i.micros]));
    const leases: Array<{ id: string; x: string; close: boolean }> = [];
    const perAccount = new Map<string, bigint>();
    let total = 0n;
    for (const l of locked) {
      const amount = big(l.amount_micros);
      const w = want.get(l.id as string);
      const x = w === null || w === undefined || w > amount ? amount : w < 0n ? 0n : w;
      const close = w === null || w === undefined;
      if (x === 0n && !close) continue;
      leases.push({ id: l.id as string, x: x.toString(), close });
      perAccount.set(l.account_id as string, (perAccount.get(l.account_id as string) ?? 0n) + x);
      total += x;
    }
    if (leases.length === 0) return 0n;
    await tx.execute(sql`
      update balance_leases b set amount_micros = b.amount_micros - v.x,
        status = case when v.close then ${status} else b.status end,
        closed_at = case when v.close then now() else b.closed_at end
      from jsonb_to_recordset(${JSON.stringify(leases)}::jsonb) as v(id text, x bigint, close boolean)
      where b.id = v.id`);
    const accts = [...perAccount].map(([id, x]) => ({ id, x: x.toString() }));
    await tx.execute(sql`
      update accounts a set reserved_micros = a.reserved_micros - v.x, updated_at = now()
      from jsonb_to_recordset(${JSON.stringify(accts)}::jsonb) as v(id text, x bigint)
      where a.id = v.id`);
    return total;
  });
}

/** Open leases past their expiry: their process died or lost the database. */
export async function expiredLeases(db: DbOrTx, now: Date | null, limit: number): Promise<LeaseGiveBack[]> {
  const cutoff = now ? sql`${now.toISOString()}::timestamptz` : sql`now()`;
  const r = await db.execute(sql`select id, account_id from balance_leases where status = 'open' and expires_at < ${cutoff} order by expires_at limit ${limit}`);
  return rowsOf(r).map((x) => ({ leaseId: x.id as string, accountId: x.account_id as string, micros: null }));
}

/** Open leases of processes known to be gone (their journal was just replayed). */
export async function leasesOfInstances(db: DbOrTx, instances: readonly string[]): Promise<LeaseGiveBack[]> {
  if (instances.length === 0) return [];
  const r = await db.execute(sql`select id, account_id from balance_leases where status = 'open'
    and instance_id in (select jsonb_array_elements_text(${jsonIds(instances)}::jsonb))`);
  return rowsOf(r).map((x) => ({ leaseId: x.id as string, accountId: x.account_id as string, micros: null }));
}

/** One settled request as the journal records it: what the ledger gets when the batch is applied. */
export interface LeasedCharge {
  /** Request id: the ledger row's ref (kind `usage`), so a replay changes nothing. */
  rid: string;
  /** Ledger row id, fixed when journaled. */
  eid: string;
  acct: string;
  lease: string;
  key: string | null;
  /** Charge (account micros, ≤ the request's hold ≤ what the lease reserved for it). */
  charge: string;
  /** Upstream cost, for the record. */
  cost: string;
  /** The request's hold (the charge's bound), kept in the ledger row's meta. */
  hold?: string;
  /**
   * "p": a live stream's progress — the charge at the bound it may have delivered up to (`pt` prompt,
   * `ct` completion tokens), superseded by the next one and by the stream's settlement. Replayed only
   * when the stream has no settlement record (the process died mid-stream).
   */
  t?: "p";
  pt?: number;
  ct?: number;
}

export interface ApplyOutcome {
  applied: number;
  /** Already in the ledger (a replay). */
  duplicates: number;
  /** Charged beyond its lease (a lease the sweeper had closed) and not covered by the balance. */
  shortfallMicros: bigint;
}

/**
 * Applies journaled charges in one call (`gw_lease_apply_v2`, drizzle/0008_lease_apply_batched.sql,
 * one transaction): a usage ledger row each, the account's balance and reserved_micros
 * and the lease's amount down by the charge. Idempotent: a request whose usage row exists changes
 * nothing. A charge on a lease that is no longer open (it expired before its journal was applied)
 * is taken from the spendable balance only as far as it covers — the rest is the operator's
 * (shortfall, in the ledger row's meta): the spendable balance never goes negative.
 */
export async function applyCharges(db: DbOrTx, items: readonly LeasedCharge[]): Promise<ApplyOutcome> {
  if (items.length === 0) return { applied: 0, duplicates: 0, shortfallMicros: 0n };
  const r = await db.execute(sql`select * from ${sql.raw(FN_LEASE_APPLY)}(${JSON.stringify(items)}::jsonb)`);
  const row = rowsOf(r)[0]!;
  return { applied: Number(row.r_applied), duplicates: Number(row.r_duplicates), shortfallMicros: big(row.r_shortfall) };
}

/**
 * The log rows of leased streams a crash cut, once their progress records are applied: still
 * `pending` → `interrupted` with the bound they were billed at (the hold sweeper does this for held
 * streams; a row that reaches the database later is closed by its orphan pass, priced from the ledger).
 */
export async function closeReplayedStreams(db: DbOrTx, items: readonly LeasedCharge[]): Promise<void> {
  if (items.length === 0) return;
  const rows = items.map((i) => ({ id: i.rid, p: i.pt ?? 0, c: i.ct ?? 0, price: i.charge, cost: i.cost }));
  await db.execute(sql`
    update request_logs r set status = 'interrupted', prompt_tokens = v.p, completion_tokens = v.c, total_tokens = v.p + v.c,
      price_micros = v.price, upstream_cost_micros = v.cost, profit_micros = v.price - v.cost, estimated = true,
      error_code = 'gateway_interrupted', completed_at = now(),
      meta = coalesce(r.meta, '{}'::jsonb) || jsonb_build_object('closed_by', 'lease_replay', 'billed_from', 'progress')
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(id text, p integer, c integer, price bigint, cost bigint)
    where r.id = v.id and r.status = 'pending'`);
}
