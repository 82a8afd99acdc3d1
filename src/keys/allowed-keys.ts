import { and, eq, inArray, like, notInArray } from "drizzle-orm";
import { newId } from "../core/ids.js";
import type { Db } from "../db/client.js";
import { accounts, apiKeys } from "../db/schema/index.js";
import { hashApiKey } from "./hash.js";

export const ALLOWED_KEYS_ACCOUNT_ID = "acct_allowed";
const NAME_PREFIX = "allowed:";

/**
 * `ALLOWED_API_KEYS`: a single-tenant install names its keys in the environment instead of issuing
 * them. Each listed key becomes an ordinary key row (hash only) of one account, so every other path
 * (verification, limits, billing, logs) treats it like any key; a key dropped from the list is
 * revoked. Idempotent: run at every start.
 */
export async function ensureAllowedKeys(db: Db, secrets: readonly string[]): Promise<{ added: number; revoked: number }> {
  return db.transaction(async (tx) => {
    const hashes = secrets.map(hashApiKey);
    if (hashes.length) await tx.insert(accounts).values({ id: ALLOWED_KEYS_ACCOUNT_ID, name: "Allowed keys (ALLOWED_API_KEYS)" }).onConflictDoNothing();
    let added = 0;
    for (const [i, secret] of secrets.entries()) {
      const r = await tx
        .insert(apiKeys)
        .values({ id: newId("key"), accountId: ALLOWED_KEYS_ACCOUNT_ID, name: `${NAME_PREFIX}${i + 1}`, keyHash: hashes[i]!, start: secret.slice(0, 10), scopes: ["inference"] })
        .onConflictDoNothing()
        .returning({ id: apiKeys.id });
      added += r.length;
    }
    // A key put back on the list after it was dropped works again.
    if (hashes.length) {
      await tx
        .update(apiKeys)
        .set({ status: "active", revokedAt: null })
        .where(and(eq(apiKeys.accountId, ALLOWED_KEYS_ACCOUNT_ID), like(apiKeys.name, `${NAME_PREFIX}%`), eq(apiKeys.status, "revoked"), inArray(apiKeys.keyHash, hashes)));
    }
    const stale = await tx
      .update(apiKeys)
      .set({ status: "revoked", revokedAt: new Date() })
      .where(
        and(
          eq(apiKeys.accountId, ALLOWED_KEYS_ACCOUNT_ID),
          like(apiKeys.name, `${NAME_PREFIX}%`),
          eq(apiKeys.status, "active"),
          ...(hashes.length ? [notInArray(apiKeys.keyHash, hashes)] : []),
        ),
      )
      .returning({ id: apiKeys.id });
    return { added, revoked: stale.length };
  });
}
