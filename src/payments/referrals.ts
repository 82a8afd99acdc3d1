import { and, count, eq, inArray, sum } from "drizzle-orm";
import { randomBase62 } from "../core/ids.js";
import type { DbOrTx } from "../db/client.js";
import { accounts, ledgerEntries } from "../db/schema/index.js";

export const REFERRAL_CODE_LENGTH = 8;

/** 8 base62 chars ≈ 47 bits: not guessable by walking the space, short enough for a deep link. */
export function generateReferralCode(): string {
  return randomBase62(REFERRAL_CODE_LENGTH);
}

export function isReferralCodeShape(code: string): boolean {
  return /^[A-Za-z0-9]{8,32}$/.test(code);
}

/** Returns the account's code, assigning one (retrying on the rare collision) if it has none. */
export async function ensureReferralCode(db: DbOrTx, accountId: string): Promise<string> {
  for (let i = 0; i < 5; i++) {
    const cur = (await db.select({ code: accounts.referralCode }).from(accounts).where(eq(accounts.id, accountId)))[0];
    if (!cur) throw new Error(`no account ${accountId}`);
    if (cur.code) return cur.code;
    const code = generateReferralCode();
    const taken = (await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.referralCode, code)))[0];
    if (taken) continue;
    await db.update(accounts).set({ referralCode: code }).where(and(eq(accounts.id, accountId)));
  }
  throw new Error("could not assign a referral code");
}

/** The inviter an invite code names, if it is a real, active account. */
export async function resolveReferralCode(db: DbOrTx, code: string): Promise<string | null> {
  if (!isReferralCodeShape(code)) return null;
  const row = (await db.select({ id: accounts.id, status: accounts.status }).from(accounts).where(eq(accounts.referralCode, code)))[0];
  return row && row.status === "active" ? row.id : null;
}

export interface ReferralStats {
  code: string;
  invitees: number;
  /** Commissions earned minus those reversed by refunds. */
  earnedMicros: bigint;
}

export async function referralStats(db: DbOrTx, accountId: string): Promise<ReferralStats> {
  const code = await ensureReferralCode(db, accountId);
  const [inv] = await db.select({ n: count() }).from(accounts).where(eq(accounts.referredBy, accountId));
  const [earned] = await db
    .select({ s: sum(ledgerEntries.amountMicros) })
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.accountId, accountId), inArray(ledgerEntries.kind, ["referral_bonus", "referral_reversal"])));
  return { code, invitees: Number(inv?.n ?? 0), earnedMicros: BigInt(earned?.s ?? 0) };
}
