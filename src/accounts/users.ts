import { eq } from "drizzle-orm";
import { postLedgerEntry } from "../billing/ledger.js";
import { AppError } from "../core/errors.js";
import { newId } from "../core/ids.js";
import type { DbOrTx } from "../db/client.js";
import { accounts, users } from "../db/schema/index.js";
import { hashPassword, verifyPassword, type ScryptParams } from "./password.js";

export type UserRow = typeof users.$inferSelect;
export type AccountRow = typeof accounts.$inferSelect;
export type Role = "client" | "admin";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Deliberately loose (one @, something on each side, a dot in the domain): the mailbox proves itself later. */
export function isPlausibleEmail(email: string): boolean {
  return email.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
}

export interface NewAccount {
  /** A fixed id (the demo account); default a new `acct_…`. */
  id?: string;
  name: string;
  limits?: Record<string, unknown>;
  tariffId?: string | null;
  /** Credited through the ledger in the same transaction (never negative). */
  openingBalanceMicros?: bigint;
  /** Ledger ref of the opening credit; default `open:<id>`. */
  openingRef?: string;
  /** Who opened it (ledger actor). */
  actor?: string;
}

/**
 * The one way an account comes into being (admin API, registration, Telegram, the demo account,
 * the CLI): the row, and its opening balance as a ledger entry in the same transaction.
 */
export async function createAccount(tx: DbOrTx, input: NewAccount): Promise<AccountRow> {
  const id = input.id ?? newId("account");
  const opening = input.openingBalanceMicros ?? 0n;
  if (opening < 0n) throw new AppError("invalid_request", "initial_balance must not be negative", { param: "initial_balance" });
  const [row] = await tx
    .insert(accounts)
    .values({ id, name: input.name, limits: input.limits ?? {}, tariffId: input.tariffId ?? null })
    .returning();
  if (!row) throw new Error("account insert returned no row");
  if (opening === 0n) return row;
  await postLedgerEntry(tx, { accountId: id, kind: "adjustment", amountMicros: opening, ref: input.openingRef ?? `open:${id}`, reason: "opening balance", actor: input.actor });
  const [after] = await tx.select().from(accounts).where(eq(accounts.id, id));
  return after ?? row;
}

export interface NewUser {
  accountId: string;
  email?: string | null;
  /** Plain password; hashed here. */
  password?: string | null;
  name?: string | null;
  role?: Role;
  telegramId?: number | null;
  did?: string | null;
  locale?: string | null;
}

export async function createUser(tx: DbOrTx, input: NewUser, scrypt?: ScryptParams): Promise<UserRow> {
  const passwordHash = input.password ? await hashPassword(input.password, scrypt) : null;
  const [row] = await tx
    .insert(users)
    .values({
      id: newId("user"),
      accountId: input.accountId,
      email: input.email ? normalizeEmail(input.email) : null,
      passwordHash,
      name: input.name ?? null,
      role: input.role ?? "client",
      telegramId: input.telegramId ?? null,
      did: input.did ?? null,
      locale: input.locale ?? null,
    })
    .returning();
  return row!;
}

export async function findUserByEmail(db: DbOrTx, email: string): Promise<UserRow | null> {
  const rows = await db.select().from(users).where(eq(users.email, normalizeEmail(email))).limit(1);
  return rows[0] ?? null;
}

export async function getUser(db: DbOrTx, id: string): Promise<UserRow | null> {
  const rows = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return rows[0] ?? null;
}

export async function getAccount(db: DbOrTx, id: string): Promise<AccountRow | null> {
  const rows = await db.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  return rows[0] ?? null;
}

export type PasswordCheck = { ok: true; user: UserRow; account: AccountRow } | { ok: false; reason: "bad_credentials" | "user_blocked" | "account_blocked" };

/**
 * Email + password check. Unknown email and wrong password cost the same scrypt work and give the
 * same answer, so the response doesn't reveal which emails are registered.
 */
export async function checkPassword(db: DbOrTx, email: string, password: string): Promise<PasswordCheck> {
  const rows = await db
    .select({ user: users, account: accounts })
    .from(users)
    .innerJoin(accounts, eq(accounts.id, users.accountId))
    .where(eq(users.email, normalizeEmail(email)))
    .limit(1);
  const r = rows[0];
  const good = await verifyPassword(password, r?.user.passwordHash ?? null);
  if (!r || !good) return { ok: false, reason: "bad_credentials" };
  // Status is revealed only to someone who knows the password.
  if (r.user.status !== "active") return { ok: false, reason: "user_blocked" };
  if (r.account.status !== "active") return { ok: false, reason: "account_blocked" };
  return { ok: true, user: r.user, account: r.account };
}

/** Public view of a user (no hash). */
export function userView(u: UserRow) {
  return {
    id: u.id,
    account_id: u.accountId,
    email: u.email,
    name: u.name,
    role: u.role,
    status: u.status,
    telegram_id: u.telegramId,
    did: u.did,
    locale: u.locale,
    created_at: u.createdAt.toISOString(),
    last_login_at: u.lastLoginAt?.toISOString() ?? null,
  };
}
