import { and, desc, eq, ne } from "drizzle-orm";
import { newId } from "../core/ids.js";
import type { Db, DbOrTx } from "../db/client.js";
import { accounts, apiKeys, users } from "../db/schema/index.js";
import { generateReferralCode, resolveReferralCode } from "../payments/referrals.js";

/** The fields of a Telegram `User` we use. */
export interface TelegramUserInfo {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface TelegramAccount {
  accountId: string;
  userId: string;
  accountStatus: "active" | "blocked";
  userStatus: "active" | "blocked";
  referralCode: string | null;
  referredBy: string | null;
  /** True only for the call that created the account. */
  created: boolean;
}

class LostRace extends Error {}

/** The account linked to this Telegram id, if any. */
export async function findTelegramAccount(db: DbOrTx, telegramId: number): Promise<TelegramAccount | null> {
  const rows = await db
    .select({
      accountId: accounts.id,
      userId: users.id,
      accountStatus: accounts.status,
      userStatus: users.status,
      referralCode: accounts.referralCode,
      referredBy: accounts.referredBy,
    })
    .from(users)
    .innerJoin(accounts, eq(accounts.id, users.accountId))
    .where(eq(users.telegramId, telegramId))
    .limit(1);
  return rows[0] ? { ...rows[0], created: false } : null;
}

/**
 * `/start`: the Telegram user's account, created on first contact. A referral code counts only
 * when the account is created here (never re-attributed later); unknown, blocked or own codes are
 * ignored. Two concurrent first /starts create one account (users.telegram_id is UNIQUE).
 */
export async function findOrCreateTelegramAccount(
  db: Db,
  tg: TelegramUserInfo,
  opts: { referralCode?: string | null } = {},
): Promise<TelegramAccount> {
  const existing = await findTelegramAccount(db, tg.id);
  if (existing) return existing;
  try {
    return await db.transaction(async (tx) => {
      const accountId = newId("account");
      const userId = newId("user");
      let inviter = opts.referralCode ? await resolveReferralCode(tx, opts.referralCode) : null;
      if (inviter === accountId) inviter = null;
      const name = (tg.username ? `@${tg.username}` : [tg.first_name, tg.last_name].filter(Boolean).join(" ")).slice(0, 100) || `tg ${tg.id}`;
      let code = generateReferralCode();
      for (let i = 0; i < 5; i++) {
        const taken = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.referralCode, code)).limit(1);
        if (!taken[0]) break;
        code = generateReferralCode();
      }
      await tx.insert(accounts).values({ id: accountId, name, referralCode: code, referredBy: inviter });
      const ins = await tx
        .insert(users)
        .values({
          id: userId,
          accountId,
          name: [tg.first_name, tg.last_name].filter(Boolean).join(" ").slice(0, 100) || null,
          telegramId: tg.id,
          locale: tg.language_code ?? null,
          role: "client",
        })
        .onConflictDoNothing({ target: users.telegramId })
        .returning({ id: users.id });
      if (!ins[0]) throw new LostRace();
      return {
        accountId,
        userId,
        accountStatus: "active" as const,
        userStatus: "active" as const,
        referralCode: code,
        referredBy: inviter,
        created: true,
      };
    });
  } catch (e) {
    if (!(e instanceof LostRace) && !isUniqueViolation(e)) throw e;
    const again = await findTelegramAccount(db, tg.id);
    if (!again) throw e;
    return again;
  }
}

function isUniqueViolation(e: unknown): boolean {
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
    if ((c as { code?: unknown }).code === "23505") return true;
  }
  return false;
}

/** Telegram users of an account (the chats a notification goes to). */
export async function accountTelegramChats(db: DbOrTx, accountId: string): Promise<{ telegramId: number; locale: string | null }[]> {
  const rows = await db.select({ telegramId: users.telegramId, locale: users.locale, status: users.status }).from(users).where(eq(users.accountId, accountId));
  return rows.filter((r) => r.telegramId !== null && r.status === "active").map((r) => ({ telegramId: r.telegramId!, locale: r.locale }));
}

export interface KeyListItem {
  id: string;
  name: string;
  start: string;
  status: string;
  createdAt: Date;
}

/** The account's keys for display; only the stored prefix exists, the secret is never readable. */
export async function listAccountKeys(db: DbOrTx, accountId: string, limit = 20): Promise<KeyListItem[]> {
  return db
    .select({ id: apiKeys.id, name: apiKeys.name, start: apiKeys.start, status: apiKeys.status, createdAt: apiKeys.createdAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.accountId, accountId), ne(apiKeys.status, "revoked")))
    .orderBy(desc(apiKeys.createdAt))
    .limit(limit);
}

/** The confirmed e-mail of a user, for fiscal receipts (54-FZ); null when none is confirmed. */
export async function confirmedEmail(db: DbOrTx, userId: string): Promise<string | null> {
  const r = (await db.select({ email: users.email, at: users.emailVerifiedAt }).from(users).where(eq(users.id, userId)))[0];
  return r?.email && r.at ? r.email : null;
}
