import { eq, or } from "drizzle-orm";
import type { Clock } from "../core/clock.js";
import type { Db } from "../db/client.js";
import { accounts, apiKeys, users } from "../db/schema/index.js";
import type { AuthContext } from "../contracts/request.js";
import { hashApiKey } from "./hash.js";

export type VerifyFailure = "invalid_api_key" | "key_revoked" | "key_disabled" | "key_expired" | "account_blocked" | "user_blocked";
/** A refused key that exists names its owner, so the refusal can be logged against the account. */
export type VerifyResult = { ok: true; auth: AuthContext } | { ok: false; code: VerifyFailure; owner?: { keyId: string; accountId: string } };

interface CachedKey {
  /** Null: no such key (negative cache). */
  row: KeyRow | null;
  cachedUntil: number;
}

interface KeyRow {
  auth: AuthContext;
  status: "active" | "disabled" | "revoked";
  expiresAt: number | null;
  /** Set when this hash is a rotated-out secret: valid only until then. */
  graceUntil: number | null;
  accountStatus: string;
  userStatus: string | null;
}

export interface KeyVerifierOptions {
  db: Db;
  clock: Clock;
  ttlMs: number;
  /** Keys (and secrets) remembered; size it for the keys in use (KEY_CACHE_MAX_KEYS). */
  maxEntries?: number;
  /** The tariff's rate limits (billing's tariffs); called on cache misses only. */
  tariffRateLimits?: (tariffId: string | null) => Promise<Record<string, unknown> | null>;
}

/**
 * Verifies API keys with a short in-memory cache, so the hot path touches the database at most once
 * per key per TTL. Revoking, disabling or blocking takes effect at once in every process that hears
 * the invalidation (keys/invalidation.ts: Redis pub/sub), within `ttlMs` in any that missed it
 * (immediately in the process that calls `invalidate`).
 */
export class KeyVerifier {
  private readonly cache = new Map<string, CachedKey>();
  private readonly inflight = new Map<string, Promise<KeyRow | null>>();
  /** Secret → hash for the keys in use: no SHA-256 per request (the secret is in memory with each request anyway). */
  private readonly hashes = new Map<string, string>();
  private readonly maxEntries: number;

  constructor(private readonly opts: KeyVerifierOptions) {
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  async verify(secret: string): Promise<VerifyResult> {
    let hash = this.hashes.get(secret);
    if (hash === undefined) {
      hash = hashApiKey(secret);
      if (this.hashes.size >= this.maxEntries) {
        const oldest = this.hashes.keys().next().value;
        if (oldest !== undefined) this.hashes.delete(oldest);
      }
      this.hashes.set(secret, hash);
    }
    return this.verifyCached(hash);
  }

  /**
   * The same verdict for a key known by id (DID-signed requests map a DID to its key), through the
   * same cache; rotation grace does not apply (there is no secret).
   */
  async verifyKeyId(keyId: string): Promise<VerifyResult> {
    return this.verifyCached(`id:${keyId}`);
  }

  private async verifyCached(cacheKey: string): Promise<VerifyResult> {
    const now = this.opts.clock.now();
    let entry = this.cache.get(cacheKey);
    if (!entry || entry.cachedUntil <= now) entry = this.store(cacheKey, await this.load(cacheKey));
    else if (entry.cachedUntil - now < this.opts.ttlMs / 10 && !this.inflight.has(cacheKey)) {
      // A key in use is reloaded in the background before its verdict expires: no request waits for it.
      const before = entry;
      void this.load(cacheKey).then(
        (row) => {
          if (this.cache.get(cacheKey) === before) this.store(cacheKey, row);
        },
        () => undefined,
      );
    }
    return judge(entry.row, now);
  }

  /** (Re)inserts at the young end: the oldest-loaded entry is the one evicted when the cache is full. */
  private store(cacheKey: string, row: KeyRow | null): CachedKey {
    const entry = { row, cachedUntil: this.opts.clock.now() + this.opts.ttlMs };
    this.cache.delete(cacheKey);
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(cacheKey, entry);
    return entry;
  }

  /** Drop cached verdicts (all, or those of one key id / account id) after a change in this process. */
  invalidate(filter?: { keyId?: string; accountId?: string }): void {
    if (!filter) {
      this.cache.clear();
      return;
    }
    for (const [h, e] of this.cache) {
      const a = e.row?.auth;
      if (!a) continue;
      if ((filter.keyId && a.keyId === filter.keyId) || (filter.accountId && a.accountId === filter.accountId)) this.cache.delete(h);
    }
  }

  private load(cacheKey: string): Promise<KeyRow | null> {
    let p = this.inflight.get(cacheKey);
    if (!p) {
      p = this.query(cacheKey).finally(() => this.inflight.delete(cacheKey));
      this.inflight.set(cacheKey, p);
    }
    return p;
  }

  /** `cacheKey` is a secret's hash, or `id:<keyId>`. */
  private async query(cacheKey: string): Promise<KeyRow | null> {
    const byId = cacheKey.startsWith("id:") ? cacheKey.slice(3) : null;
    const hash = byId === null ? cacheKey : null;
    const rows = await this.opts.db
      .select({ key: apiKeys, account: { status: accounts.status, limits: accounts.limits, tariffId: accounts.tariffId }, userStatus: users.status })
      .from(apiKeys)
      .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
      .leftJoin(users, eq(users.id, apiKeys.userId))
      .where(byId !== null ? eq(apiKeys.id, byId) : or(eq(apiKeys.keyHash, hash!), eq(apiKeys.previousHash, hash!)))
      .limit(1);
    const r = rows[0];
    if (!r) return null;
    const k = r.key;
    const isPrevious = hash !== null && k.keyHash !== hash;
    // No tariff id = the default tariff, whose rate limits apply too.
    const tariffRateLimits = this.opts.tariffRateLimits ? await this.opts.tariffRateLimits(r.account.tariffId) : null;
    return {
      status: k.status,
      expiresAt: k.expiresAt ? k.expiresAt.getTime() : null,
      graceUntil: isPrevious ? (k.previousExpiresAt?.getTime() ?? 0) : null,
      accountStatus: r.account.status,
      userStatus: r.userStatus,
      auth: {
        keyId: k.id,
        accountId: k.accountId,
        userId: k.userId,
        scopes: k.scopes,
        allowedModels: k.allowedModels ?? null,
        ipAllowlist: k.ipAllowlist ?? null,
        keyLimits: k.limits,
        accountLimits: r.account.limits,
        keyRateLimits: k.rateLimits ?? null,
        keyOptions: k.options,
        tariffId: r.account.tariffId,
        tariffRateLimits,
      },
    };
  }
}

function judge(row: KeyRow | null, now: number): VerifyResult {
  if (!row) return { ok: false, code: "invalid_api_key" };
  if (row.graceUntil !== null && row.graceUntil <= now) return { ok: false, code: "invalid_api_key" };
  const owner = { keyId: row.auth.keyId, accountId: row.auth.accountId };
  if (row.status === "revoked") return { ok: false, code: "key_revoked", owner };
  if (row.status === "disabled") return { ok: false, code: "key_disabled", owner };
  if (row.expiresAt !== null && row.expiresAt <= now) return { ok: false, code: "key_expired", owner };
  if (row.accountStatus !== "active") return { ok: false, code: "account_blocked", owner };
  if (row.userStatus !== null && row.userStatus !== "active") return { ok: false, code: "user_blocked", owner };
  return { ok: true, auth: row.auth };
}
