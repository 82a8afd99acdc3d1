import { createHmac, randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { DbOrTx } from "../db/client.js";
import { authSecrets } from "../db/schema/index.js";

const JWT_SECRET_NAME = "jwt_secret";

/**
 * The key that signs access tokens and CSRF tokens. JWT_SECRET wins when set; otherwise one is
 * generated on first start and stored in the database (auth_secrets), so restarts keep sessions and
 * every instance sharing the database signs with the same key. Rotating: set JWT_SECRET (or delete
 * the row) and restart — outstanding access tokens die, refresh tokens keep working.
 */
export async function resolveJwtSecret(db: DbOrTx, fromEnv: string | undefined): Promise<{ secret: string; source: "env" | "database" | "generated" }> {
  if (fromEnv) return { secret: fromEnv, source: "env" };
  const existing = await db.select({ value: authSecrets.value }).from(authSecrets).where(eq(authSecrets.name, JWT_SECRET_NAME));
  if (existing[0]) return { secret: existing[0].value, source: "database" };
  const fresh = randomBytes(48).toString("base64url");
  const inserted = await db
    .insert(authSecrets)
    .values({ name: JWT_SECRET_NAME, value: fresh, meta: { generatedBy: "gateway" } })
    .onConflictDoNothing()
    .returning({ value: authSecrets.value });
  if (inserted[0]) return { secret: inserted[0].value, source: "generated" };
  // Another instance generated it between our read and insert: use theirs.
  const again = await db.select({ value: authSecrets.value }).from(authSecrets).where(eq(authSecrets.name, JWT_SECRET_NAME));
  return { secret: again[0]!.value, source: "database" };
}

/** Sub-keys so a token of one kind can never be replayed as another kind. */
export function deriveKey(secret: string, purpose: "access" | "csrf"): string {
  return createHmac("sha256", secret).update(`llm-gateway:${purpose}`).digest("base64url");
}
