import { and, eq, isNotNull, sql } from "drizzle-orm";
import { formatMoney } from "../core/money.js";
import type { Db } from "../db/client.js";
import { accounts, paymentReceipts, users } from "../db/schema/index.js";
import type { Mailer } from "./mailer.js";
import { MAIL, mailLang } from "./texts.js";

const METHOD: Record<string, string> = { tg_stars: "Telegram Stars", tg_provider: "Telegram", yookassa: "YooKassa", stripe: "Stripe" };

/** The account's active users with a confirmed address: nobody is mailed at an address they never proved. */
async function recipients(db: Db, accountId: string) {
  return db
    .select({ email: users.email, locale: users.locale })
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.status, "active"), isNotNull(users.email), isNotNull(users.emailVerifiedAt)));
}

/**
 * Receipt e-mails for payments credited since `since`. Each payment is claimed in
 * `payment_receipts` before sending, so processes running this job side by side never both send it.
 */
export async function sendPaymentReceipts(db: Db, mailer: Mailer, currency: string, since: Date): Promise<number> {
  const res = await db.execute(sql`select p.id, p.provider, p.account_id, p.credits_micros::text as credits, p.created_at, a.balance_micros::text as balance
    from payments p join accounts a on a.id = p.account_id left join payment_receipts r on r.payment_id = p.id
    where r.payment_id is null and p.created_at >= ${since.toISOString()}::timestamptz order by p.created_at limit 200`);
  const rows = (Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as Array<Record<string, string | Date>>;
  let sent = 0;
  for (const p of rows) {
    const claimed = await db.insert(paymentReceipts).values({ paymentId: String(p.id) }).onConflictDoNothing().returning({ id: paymentReceipts.paymentId });
    if (!claimed[0]) continue;
    const to = await recipients(db, String(p.account_id));
    for (const r of to) {
      const created = p.created_at instanceof Date ? p.created_at : new Date(String(p.created_at));
      const m = MAIL.receipt(mailLang(r.locale), {
        amount: `${formatMoney(BigInt(String(p.credits)))} ${currency}`,
        balance: `${formatMoney(BigInt(String(p.balance)))} ${currency}`,
        method: METHOD[String(p.provider)] ?? String(p.provider),
        ref: String(p.id),
        date: created.toISOString().slice(0, 16).replace("T", " ") + " UTC",
      });
      await mailer.send({ to: r.email!, ...m });
      sent++;
    }
    await db.update(paymentReceipts).set({ recipients: to.length }).where(eq(paymentReceipts.paymentId, String(p.id)));
  }
  return sent;
}

/** Low-balance notice by e-mail (the low-balance job's second channel); returns how many were sent. */
export async function mailLowBalance(db: Db, mailer: Mailer, currency: string, accountId: string, availableMicros: bigint, thresholdMicros: bigint): Promise<number> {
  const [a] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId));
  if (!a) return 0;
  let n = 0;
  for (const r of await recipients(db, accountId)) {
    await mailer.send({ to: r.email!, ...MAIL.lowBalance(mailLang(r.locale), `${formatMoney(availableMicros)} ${currency}`, `${formatMoney(thresholdMicros)} ${currency}`) });
    n++;
  }
  return n;
}
