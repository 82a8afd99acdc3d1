import { and, desc, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "../db/client.js";
import { accounts, ledgerEntries, users } from "../db/schema/index.js";

export interface Invitee {
  accountId: string;
  /** The invitee's first email, masked (`a***@example.com`): the inviter learns who joined, not the address. */
  label: string;
  joinedAt: Date;
  earnedMicros: bigint;
}

function maskEmail(e: string | null): string | null {
  if (!e) return null;
  const [name, domain] = e.split("@");
  return name && domain ? `${name.slice(0, 1)}***@${domain}` : null;
}

/** Accounts that joined with this account's invite code and the commission each brought in. */
export async function invitees(db: DbOrTx, accountId: string, limit = 200): Promise<Invitee[]> {
  const rows = await db
    .select({ id: accounts.id, createdAt: accounts.createdAt })
    .from(accounts)
    .where(eq(accounts.referredBy, accountId))
    .orderBy(desc(accounts.createdAt))
    .limit(limit);
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const emails = await db.select({ accountId: users.accountId, email: users.email }).from(users).where(and(inArray(users.accountId, ids)));
  const commissions = await db
    .select({ amount: ledgerEntries.amountMicros, meta: ledgerEntries.meta })
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.accountId, accountId), inArray(ledgerEntries.kind, ["referral_bonus", "referral_reversal"])));
  const earned = new Map<string, bigint>();
  for (const c of commissions) {
    const who = typeof c.meta?.inviteeAccountId === "string" ? c.meta.inviteeAccountId : null;
    if (who) earned.set(who, (earned.get(who) ?? 0n) + c.amount);
  }
  return rows.map((r, i) => ({
    accountId: r.id,
    label: maskEmail(emails.find((e) => e.accountId === r.id && e.email)?.email ?? null) ?? `#${i + 1}`,
    joinedAt: r.createdAt,
    earnedMicros: earned.get(r.id) ?? 0n,
  }));
}
