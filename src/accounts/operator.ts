import { eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { accounts, users } from "../db/schema/index.js";
import type { AccountRow, UserRow } from "./users.js";

/**
 * The ADMIN_TOKEN holder as a user, so that a browser can trade the token for an ordinary session
 * (httpOnly cookie + CSRF, refresh, logout, the same role check on every request) instead of
 * keeping the all-powerful token in page memory. One fixed user in one fixed account: every
 * gateway process on the database finds the same row, and audit rows of such sessions read
 * `admin:usr_operator`, telling them apart from the raw token (`admin:token`).
 */
export const OPERATOR_ACCOUNT_ID = "acct_operator";
export const OPERATOR_USER_ID = "usr_operator";

export type OperatorResult = { ok: true; user: UserRow; account: AccountRow } | { ok: false; reason: "user_blocked" | "account_blocked" };

/**
 * Finds or creates the operator user. Its role is put back to `admin` (whoever holds the token is
 * an admin by definition), but a block is respected: blocking the operator user is how an admin
 * turns off browser sessions made from the token.
 */
export async function ensureOperator(db: Db): Promise<OperatorResult> {
  return db.transaction(async (tx) => {
    await tx.insert(accounts).values({ id: OPERATOR_ACCOUNT_ID, name: "Operator (ADMIN_TOKEN)" }).onConflictDoNothing();
    await tx.insert(users).values({ id: OPERATOR_USER_ID, accountId: OPERATOR_ACCOUNT_ID, name: "ADMIN_TOKEN holder", role: "admin" }).onConflictDoNothing();
    let [user] = await tx.select().from(users).where(eq(users.id, OPERATOR_USER_ID)).limit(1);
    if (user && user.role !== "admin") [user] = await tx.update(users).set({ role: "admin" }).where(eq(users.id, OPERATOR_USER_ID)).returning();
    const [account] = await tx.select().from(accounts).where(eq(accounts.id, user!.accountId)).limit(1);
    if (user!.status !== "active") return { ok: false as const, reason: "user_blocked" as const };
    if (account!.status !== "active") return { ok: false as const, reason: "account_blocked" as const };
    return { ok: true as const, user: user!, account: account! };
  });
}
