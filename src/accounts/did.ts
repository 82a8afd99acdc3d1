import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { apiKeys, didIdentities, users } from "../db/schema/index.js";
import { createApiKey, KeyVerifier } from "../keys/index.js";
import type { AuthContext } from "../contracts/request.js";
import { checkDidSignature, type DidRequestParts } from "./did-crypto.js";
import { consumeOnce } from "./replay.js";
import { createAccount, createUser } from "./users.js";

export interface DidIdentity {
  did: string;
  userId: string;
  accountId: string;
  keyId: string;
}

/** What a key id resolves to; the same verdicts as the API-key verifier (src/keys). */
export type KeyVerdict =
  | { ok: true; auth: AuthContext }
  | { ok: false; code: "invalid_api_key" | "key_revoked" | "key_disabled" | "key_expired" | "account_blocked" | "user_blocked" };

export interface DidAuthOptions {
  windowSec: number;
  autoProvision: boolean;
  nowMs: number;
  /**
   * Resolves the identity's key to an AuthContext. Defaults to a direct database read; the server
   * passes the key verifier's cached lookup so DID calls see exactly what key calls see.
   */
  resolveKey?: (keyId: string) => Promise<KeyVerdict>;
}

export type DidAuthResult =
  | { ok: true; identity: DidIdentity; auth: AuthContext; provisioned: boolean }
  | {
      ok: false;
      reason: "missing_headers" | "bad_did" | "bad_timestamp" | "stale_timestamp" | "bad_signature" | "replayed" | "unknown_did";
    }
  | { ok: false; reason: "key_rejected"; code: Exclude<KeyVerdict, { ok: true }>["code"] };

/**
 * Authenticates one DID-signed request: signature and clock window (no I/O), then the message is
 * spent once (replay guard kept until the timestamp leaves the window), then the DID is mapped to
 * its user and key — created on first contact when auto-provisioning is on.
 */
export async function authenticateDid(db: Db, req: DidRequestParts, opts: DidAuthOptions): Promise<DidAuthResult> {
  const check = checkDidSignature(req, opts.nowMs, opts.windowSec);
  if (!check.ok) return check;
  const guardUntil = new Date(check.timestampMs + opts.windowSec * 1000 + 1000);
  if (!(await consumeOnce(db, "did", check.messageHash, guardUntil))) return { ok: false, reason: "replayed" };
  let identity = await findDidIdentity(db, check.did);
  let provisioned = false;
  if (!identity) {
    if (!opts.autoProvision) return { ok: false, reason: "unknown_did" };
    const p = await provisionDid(db, check.did, check.publicKey);
    identity = p.identity;
    provisioned = p.created;
  }
  const verdict = await (opts.resolveKey ?? ((id: string) => loadKeyAuth(db, id, opts.nowMs)))(identity.keyId);
  if (!verdict.ok) return { ok: false, reason: "key_rejected", code: verdict.code };
  if (!provisioned) {
    // At most one write a minute per DID: last_seen_at is a display field.
    const now = new Date(opts.nowMs);
    await db
      .update(didIdentities)
      .set({ lastSeenAt: now })
      .where(and(eq(didIdentities.did, check.did), or(isNull(didIdentities.lastSeenAt), lt(didIdentities.lastSeenAt, new Date(opts.nowMs - 60_000)))));
  }
  return { ok: true, identity, auth: verdict.auth, provisioned };
}

export async function findDidIdentity(db: Db, did: string): Promise<DidIdentity | null> {
  const rows = await db
    .select({ did: didIdentities.did, userId: didIdentities.userId, accountId: didIdentities.accountId, keyId: didIdentities.keyId })
    .from(didIdentities)
    .where(eq(didIdentities.did, did))
    .limit(1);
  return rows[0] ?? null;
}

/**
 * The first-contact initialization: a new account, a client user carrying the DID, an
 * inference key bound to the DID (its limits/models apply to DID calls), and the identity row.
 * Concurrent first requests of one DID converge on one identity (did is the primary key).
 */
export async function provisionDid(db: Db, did: string, publicKey: Buffer): Promise<{ identity: DidIdentity; created: boolean }> {
  try {
    const identity = await db.transaction(async (tx) => {
      const short = `${did.slice(0, 16)}…${did.slice(-6)}`;
      const account = await createAccount(tx, { name: short });
      const user = await createUser(tx, { accountId: account.id, did, name: short });
      const key = await createApiKey(tx, { accountId: account.id, userId: user.id, name: "did", scopes: ["inference"] });
      await tx.insert(didIdentities).values({ did, userId: user.id, accountId: account.id, keyId: key.id, publicKey: publicKey.toString("base64url") });
      return { did, userId: user.id, accountId: account.id, keyId: key.id };
    });
    return { identity, created: true };
  } catch (e) {
    const existing = await findDidIdentity(db, did);
    if (existing) return { identity: existing, created: false };
    throw e;
  }
}

/**
 * Binds a DID to an existing user and key (admin or the user themself, after proving the key).
 * The key must belong to the user's account.
 */
export async function linkDid(db: Db, input: { did: string; publicKey: Buffer; userId: string; keyId: string }): Promise<DidIdentity> {
  return db.transaction(async (tx) => {
    const u = await tx.select({ accountId: users.accountId }).from(users).where(eq(users.id, input.userId)).limit(1);
    const k = await tx.select({ accountId: apiKeys.accountId }).from(apiKeys).where(eq(apiKeys.id, input.keyId)).limit(1);
    if (!u[0] || !k[0] || u[0].accountId !== k[0].accountId) throw new Error("user and key must exist and share an account");
    await tx.insert(didIdentities).values({ did: input.did, userId: input.userId, accountId: u[0].accountId, keyId: input.keyId, publicKey: input.publicKey.toString("base64url") });
    await tx.update(users).set({ did: input.did }).where(eq(users.id, input.userId));
    return { did: input.did, userId: input.userId, accountId: u[0].accountId, keyId: input.keyId };
  });
}

/** A key's verdict by id, as the API-key verifier gives it (one-off, uncached: for callers without the gateway's verifier). */
export function loadKeyAuth(db: Db, keyId: string, nowMs: number): Promise<KeyVerdict> {
  return new KeyVerifier({ db, clock: { now: () => nowMs }, ttlMs: 0 }).verifyKeyId(keyId);
}
