import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { billingSettings } from "../../src/main/settings.js";
import { eq, sql } from "drizzle-orm";
import { postLedgerEntry } from "../../src/billing/ledger.js";
import { createBilling, type BillingService } from "../../src/billing/service.js";
import { loadEnv, type Env } from "../../src/config/env.js";
import type { Clock } from "../../src/core/clock.js";
import { newId } from "../../src/core/ids.js";
import { parseMoney } from "../../src/core/money.js";
import type { Db } from "../../src/db/client.js";
import { accounts, balanceLeases, holds, ledgerEntries } from "../../src/db/schema/index.js";
import type { AuthContext, ResolvedModel, ServedBy, TokenUsage } from "../../src/contracts/request.js";
import { testAuth } from "../helpers/auth.js";

/** This test process's lease journal (balance leases are on by default): never another test process's directory. */
const JOURNAL_DIR = mkdtempSync(join(tmpdir(), "gw-test-lease-"));

export function testEnv(over: Partial<Env> = {}): Env {
  return { ...loadEnv({ USD_RATE: "100", DEFAULT_MARKUP: "1.5", BILLING_CURRENCY: "RUB" }), BILLING_CACHE_TTL_MS: 0, BILLING_LEASE_JOURNAL_DIR: JOURNAL_DIR, ...over };
}

export class TestClock implements Clock {
  constructor(public t = Date.UTC(2026, 10, 22, 12, 0, 0)) {}
  now() {
    return this.t;
  }
}

export function billingFor(db: Db, env: Partial<Env> = {}, clock: Clock = new TestClock()): BillingService {
  return createBilling({ db, settings: billingSettings(testEnv(env)), clock });
}

/** A new active account funded with `balance` (decimal) through a ledger top-up. */
export async function makeAccount(db: Db, balance: string, opts: { limits?: Record<string, unknown>; tariffId?: string | null } = {}): Promise<string> {
  const id = newId("account");
  await db.insert(accounts).values({ id, name: `t-${id}`, limits: opts.limits ?? {}, tariffId: opts.tariffId ?? null });
  const amount = parseMoney(balance);
  if (amount > 0n) {
    await db.transaction((tx) => postLedgerEntry(tx, { accountId: id, kind: "topup", amountMicros: amount, ref: `seed-${id}` }));
  }
  return id;
}

export function authFor(accountId: string, over: Partial<AuthContext> = {}): AuthContext {
  return testAuth({ keyId: newId("key"), accountId, ...over });
}

/** A model priced in $ per 1M tokens (as the gateway config writes it). */
export function model(id: string, price: { input: string; output: string } | null, opts: { maxOutput?: number | null; provider?: string } = {}): ResolvedModel {
  return {
    id,
    requested: id,
    routes: [
      {
        providerId: opts.provider ?? "mock",
        upstreamModel: id,
        priority: 1,
        weight: 1,
        price: price ? { inputMicrosPerM: parseMoney(price.input), outputMicrosPerM: parseMoney(price.output) } : null,
      },
    ],
    contextLength: 128000,
    maxOutput: opts.maxOutput === undefined ? 16384 : opts.maxOutput,
    passthrough: false,
  };
}

export function usage(prompt: number, completion: number, extra: Partial<TokenUsage> = {}): TokenUsage {
  return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, estimated: false, ...extra };
}

export function served(providerId = "mock"): ServedBy {
  return { providerId, upstreamAccountId: null, upstreamModel: "m", discountBp: 0, price: null };
}

export async function account(db: Db, id: string) {
  return (await db.select().from(accounts).where(eq(accounts.id, id)))[0]!;
}

export async function ledgerSum(db: Db, id: string): Promise<bigint> {
  const r = await db
    .select({ s: sql<string>`coalesce(sum(${ledgerEntries.amountMicros}), 0)::text` })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.accountId, id));
  return BigInt(r[0]!.s);
}

/** balance - Σ ledger (must be 0) and reserved - Σ open holds - Σ open balance leases (must be 0). */
export async function drift(db: Db, id: string): Promise<{ ledger: bigint; holds: bigint }> {
  const a = await account(db, id);
  const h = await db
    .select({ s: sql<string>`coalesce(sum(${holds.amountMicros}), 0)::text` })
    .from(holds)
    .where(sql`${holds.accountId} = ${id} and ${holds.status} = 'open'`);
  const l = await db
    .select({ s: sql<string>`coalesce(sum(${balanceLeases.amountMicros}), 0)::text` })
    .from(balanceLeases)
    .where(sql`${balanceLeases.accountId} = ${id} and ${balanceLeases.status} = 'open'`);
  return { ledger: a.balanceMicros - (await ledgerSum(db, id)), holds: a.reservedMicros - BigInt(h[0]!.s) - BigInt(l[0]!.s) };
}

/** Settings that turn balance leases on, with a journal directory of the test's own. */
/** The database path (a hold row per request): the `[db]` variants of the money tests, and the tests of hold rows and their sweeper. */
export const DB_PATH: Partial<Env> = { BILLING_LEASE: "off" };

export function leaseEnv(dir: string): Partial<Env> {
  return { BILLING_LEASE: "on", BILLING_LEASE_JOURNAL_DIR: dir, BILLING_LEASE_APPLY_MS: 20 };
}

export async function settledAll<T>(ps: Array<Promise<T>>) {
  const r = await Promise.allSettled(ps);
  return {
    ok: r.flatMap((x) => (x.status === "fulfilled" ? [x.value] : [])),
    errors: r.filter((x): x is PromiseRejectedResult => x.status === "rejected").map((x) => x.reason as unknown),
  };
}
