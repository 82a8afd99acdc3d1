import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { eq } from "drizzle-orm";
import { createAccount } from "../accounts/users.js";
import { parseMoney } from "../core/money.js";
import type { Db } from "../db/client.js";
import { accounts, apiKeys } from "../db/schema/index.js";
import { createApiKey, hashApiKey } from "../keys/index.js";

export function ensureDataDir(dataDir: string): string {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function readSecretFile(path: string): string | null {
  if (!existsSync(path)) return null;
  const v = readFileSync(path, "utf8").trim();
  return v || null;
}

function writeSecretFile(path: string, value: string): void {
  writeFileSync(path, value + "\n", { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** ADMIN_TOKEN if set; else a token generated once and kept in DATA_DIR/admin-token (mode 600). */
export function resolveAdminToken(envToken: string | undefined, dataDir: string): { token: string; generated: boolean } {
  if (envToken) return { token: envToken, generated: false };
  const path = join(dataDir, "admin-token");
  const existing = readSecretFile(path);
  if (existing) return { token: existing, generated: false };
  const token = `gwadm_${randomBytes(24).toString("base64url")}`;
  writeSecretFile(path, token);
  return { token, generated: true };
}

export const DEMO_ACCOUNT_ID = "acct_demo";

/**
 * Demo mode: one account with a starting balance and one key, kept in DATA_DIR/demo-key so every
 * start can print a ready-to-paste curl line. The key is an ordinary key (hash-only in the database).
 */
export async function ensureDemoKey(db: Db, dataDir: string, demoBalance: string): Promise<string> {
  const path = join(dataDir, "demo-key");
  const saved = readSecretFile(path);
  if (saved) {
    const [row] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.keyHash, hashApiKey(saved)));
    if (row) return saved;
  }
  return db.transaction(async (tx) => {
    const [acct] = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, DEMO_ACCOUNT_ID));
    if (!acct) await createAccount(tx, { id: DEMO_ACCOUNT_ID, name: "Demo account", openingBalanceMicros: parseMoney(demoBalance), openingRef: "demo:opening" });
    const k = await createApiKey(tx, { accountId: DEMO_ACCOUNT_ID, name: "demo" });
    writeSecretFile(path, k.key);
    return k.key;
  });
}
