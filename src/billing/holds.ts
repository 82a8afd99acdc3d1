/**
 * Reserve / settle / release over the database: thin, typed wrappers around the plpgsql functions
 * in sql.ts (one round-trip each). The request-path service (service.ts) prices requests and calls
 * these; the sweeper calls them too.
 */
import { sql } from "drizzle-orm";
import { newId } from "../core/ids.js";
import type { DbOrTx } from "../db/client.js";
import type { CounterSpec } from "./quotas.js";
import { FN_RELEASE, FN_RESERVE, FN_RESERVE_BATCH, FN_SETTLE, FN_SETTLE_BATCH } from "./sql.js";

export interface ReserveCall {
  requestId: string;
  accountId: string;
  keyId: string | null;
  model: string;
  promptTokens: number;
  /** Hold for the prompt, account micros (already rounded up). */
  promptHoldMicros: bigint;
  /** Per-output-token sale price × 1e18 (account micros). */
  outNum: bigint;
  /** The max_tokens to hold for; null = the database picks the largest the balance and limits cover, ≤ cap. */
  fixedMaxTokens: number | null;
  cap: number;
  min: number;
  counters: readonly CounterSpec[];
  ttlMs: number;
  /** The hold's price snapshot, already serialized (jsonb). */
  snapshot: string;
}

export type ReserveOutcome =
  | { ok: true; maxTokens: number; holdMicros: bigint; availableMicros: bigint }
  | {
      ok: false;
      reason: "rejected";
      /** balance | key_daily | account_monthly | … */
      source: string;
      kind: "money" | "tokens" | "requests";
      /** For token/balance refusals: the most max_tokens that would still fit (null when unknown). */
      affordableMaxTokens: number | null;
      availableMicros: bigint;
    }
  | { ok: false; reason: "account_not_found" | "blocked" | "duplicate" };

/** text[] / bigint[] literal; our ids are [A-Za-z0-9_:|.-] but quote anyway. */
function arrayLiteral(items: ReadonlyArray<string | bigint | null>): string {
  return `{${items.map((v) => (v === null ? "NULL" : typeof v === "bigint" ? v.toString() : `"${v.replace(/["\\]/g, "\\$&")}"`)).join(",")}}`;
}

type Row = Record<string, unknown>;
function rowsOf(r: unknown): Row[] {
  return (r as { rows: Row[] }).rows;
}
const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(v as string | number | bigint));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Bigints as strings: holds.snapshot is jsonb. */
export function jsonString(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

function toReserveOutcome(row: Row): ReserveOutcome {
  const status = row.r_status as string;
  if (status === "ok") {
    return { ok: true, maxTokens: Number(row.r_max_tokens), holdMicros: big(row.r_hold), availableMicros: big(row.r_available) };
  }
  if (status === "rejected") {
    return {
      ok: false,
      reason: "rejected",
      source: row.r_source as string,
      kind: row.r_kind as "money" | "tokens" | "requests",
      affordableMaxTokens: num(row.r_max_tokens),
      availableMicros: big(row.r_available),
    };
  }
  return { ok: false, reason: status as "account_not_found" | "blocked" | "duplicate" };
}

/** Takes one hold (balance and quota windows checked and reserved in the same statement). */
export async function reserveHold(db: DbOrTx, c: ReserveCall): Promise<ReserveOutcome> {
  const cs = c.counters;
  const r = await db.execute(sql`select * from ${sql.raw(FN_RESERVE)}(
    ${c.requestId}, ${c.accountId}, ${c.keyId}, ${c.model},
    ${c.promptTokens}, ${c.promptHoldMicros.toString()}, ${c.outNum.toString()}::numeric,
    ${c.fixedMaxTokens}::bigint, ${c.cap}, ${c.min},
    ${arrayLiteral(cs.map((x) => x.id))}::text[], ${arrayLiteral(cs.map((x) => x.source))}::text[],
    ${arrayLiteral(cs.map((x) => x.limit.tokens))}::bigint[], ${arrayLiteral(cs.map((x) => x.limit.micros))}::bigint[],
    ${arrayLiteral(cs.map((x) => x.limit.requests))}::bigint[],
    ${c.ttlMs}, ${c.snapshot}::jsonb)`);
  return toReserveOutcome(rowsOf(r)[0]!);
}

const byAccount = <T extends { accountId?: string }>(a: T, b: T) => ((a.accountId ?? "") < (b.accountId ?? "") ? -1 : (a.accountId ?? "") > (b.accountId ?? "") ? 1 : 0);

/** Many holds in one call and one transaction, in account order (the lock order). */
export async function reserveHolds(db: DbOrTx, calls: readonly ReserveCall[]): Promise<Map<string, ReserveOutcome>> {
  const out = new Map<string, ReserveOutcome>();
  if (calls.length === 0) return out;
  // Bigints as strings; the snapshot is spliced in raw (it is already JSON).
  const items = [...calls].sort(byAccount).map((c) => {
    const cs = c.counters;
    const head = JSON.stringify({
      rid: c.requestId,
      acct: c.accountId,
      key: c.keyId,
      model: c.model,
      pt: c.promptTokens,
      ph: c.promptHoldMicros.toString(),
      onum: c.outNum.toString(),
      fm: c.fixedMaxTokens,
      cap: c.cap,
      mn: c.min,
      ttl: c.ttlMs,
      ...(cs.length
        ? {
            cid: cs.map((x) => x.id),
            csrc: cs.map((x) => x.source),
            lt: cs.map((x) => x.limit.tokens?.toString() ?? null),
            lm: cs.map((x) => x.limit.micros?.toString() ?? null),
            lr: cs.map((x) => x.limit.requests?.toString() ?? null),
          }
        : {}),
    });
    return `${head.slice(0, -1)},"snap":${c.snapshot}}`;
  });
  const r = await db.execute(sql`select * from ${sql.raw(FN_RESERVE_BATCH)}(${`[${items.join(",")}]`}::jsonb)`);
  for (const row of rowsOf(r)) out.set(row.r_request_id as string, toReserveOutcome(row));
  return out;
}

export interface SettleCall {
  requestId: string;
  /** Sale price of the usage (account micros); charged up to what the balance covers. */
  priceMicros: bigint;
  upstreamCostMicros: bigint;
  totalTokens: number;
  promptTokens: number;
  completionTokens: number;
  providerId: string | null;
  /** Sort key for batches (lock order); optional. */
  accountId?: string;
}

export interface SettleOutcome {
  /**
   * ok | duplicate (already settled: nothing changed) | released (the hold was given back without a
   * charge) | not_found | conflict (a usage ledger row exists for an open hold: nothing changed).
   */
  status: "ok" | "duplicate" | "released" | "not_found" | "conflict";
  chargedMicros: bigint;
  shortfallMicros: bigint;
  /** Balance after the charge (only for `ok`). */
  balanceMicros: bigint | null;
}

function toOutcome(row: Row): SettleOutcome {
  return {
    status: row.r_status as SettleOutcome["status"],
    chargedMicros: big(row.r_charged),
    shortfallMicros: big(row.r_shortfall),
    balanceMicros: row.r_balance === null || row.r_balance === undefined ? null : big(row.r_balance),
  };
}

/** Settles one hold (ledger row + balance + hold + counters in one statement). Idempotent by request id. */
export async function settleHold(db: DbOrTx, s: SettleCall): Promise<SettleOutcome> {
  const r = await db.execute(sql`select * from ${sql.raw(FN_SETTLE)}(
    ${s.requestId}, ${s.priceMicros.toString()}::bigint, ${s.upstreamCostMicros.toString()}::bigint, ${s.totalTokens}::bigint,
    ${s.promptTokens}::integer, ${s.completionTokens}::integer, ${s.providerId}, ${newId("ledger")})`);
  return toOutcome(rowsOf(r)[0]!);
}

/** Many settlements in one call and one transaction, in account order (the lock order). */
export async function settleHolds(db: DbOrTx, items: readonly SettleCall[]): Promise<Map<string, SettleOutcome>> {
  const out = new Map<string, SettleOutcome>();
  if (items.length === 0) return out;
  // Account order = lock order across concurrent batches.
  const sorted = [...items].sort(byAccount);
  const payload = jsonString(
    sorted.map((s) => ({
      rid: s.requestId,
      price: s.priceMicros.toString(),
      cost: s.upstreamCostMicros.toString(),
      tokens: String(s.totalTokens),
      pt: s.promptTokens,
      ct: s.completionTokens,
      prov: s.providerId,
      eid: newId("ledger"),
    })),
  );
  const r = await db.execute(sql`select * from ${sql.raw(FN_SETTLE_BATCH)}(${payload}::jsonb)`);
  for (const row of rowsOf(r)) out.set(row.r_request_id as string, toOutcome(row));
  return out;
}

/** Gives the hold back without a charge. Returns ok | settled | released | not_found. */
export async function releaseHold(db: DbOrTx, requestId: string): Promise<string> {
  const r = await db.execute(sql`select ${sql.raw(FN_RELEASE)}(${requestId}) as s`);
  return rowsOf(r)[0]!.s as string;
}
