import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db/client.js";

/** One referral commission (or its reversal by a refund) as the ledger recorded it. */
export interface CommissionRow {
  id: string;
  kind: "referral_bonus" | "referral_reversal";
  inviterAccountId: string;
  inviterName: string | null;
  inviteeAccountId: string | null;
  paymentId: string | null;
  amountMicros: bigint;
  createdAt: string;
}

/**
 * Referral commissions across all accounts, newest first (the admin panel's Payments page). Read
 * from the ledger, the one record of money moved: a commission exists only as its ledger row.
 */
export async function listCommissions(db: DbOrTx, f: { accountId?: string; before?: Date; limit: number }): Promise<CommissionRow[]> {
  const r = await db.execute(sql`select l.id, l.kind, l.account_id, a.name, l.meta, l.amount_micros::text as amount, l.created_at::text as ts
    from ledger_entries l left join accounts a on a.id = l.account_id
    where l.kind in ('referral_bonus', 'referral_reversal')
    ${f.accountId ? sql`and l.account_id = ${f.accountId}` : sql``}
    ${f.before ? sql`and l.created_at < ${f.before.toISOString()}::timestamptz` : sql``}
    order by l.created_at desc, l.id desc limit ${f.limit}`);
  return (r as unknown as { rows: Array<Record<string, unknown>> }).rows.map((x) => {
    const meta = (typeof x.meta === "string" ? JSON.parse(x.meta) : (x.meta ?? {})) as Record<string, unknown>;
    return {
      id: String(x.id),
      kind: String(x.kind) as CommissionRow["kind"],
      inviterAccountId: String(x.account_id),
      inviterName: (x.name as string | null) ?? null,
      inviteeAccountId: typeof meta.inviteeAccountId === "string" ? meta.inviteeAccountId : null,
      paymentId: typeof meta.paymentId === "string" ? meta.paymentId : null,
      amountMicros: BigInt(String(x.amount)),
      createdAt: new Date(String(x.ts)).toISOString(),
    };
  });
}
