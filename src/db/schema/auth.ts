import { index, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { createdAt, ts } from "../columns.js";
import { accounts, users } from "./accounts.js";
import { apiKeys } from "./api-keys.js";

/**
 * A login session = one refresh-token family. Rotating a refresh token keeps the session id; reuse
 * of an already-rotated token revokes the whole session (all its tokens), so a stolen refresh token
 * is good for at most one use before both parties are logged out.
 */
export const authSessions = pgTable(
  "auth_sessions",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id),
    /** password | telegram_widget | telegram_deeplink | admin_token */
    method: text().notNull(),
    ip: text(),
    userAgent: text(),
    createdAt: createdAt(),
    lastUsedAt: ts(),
    /** Expiry of the newest refresh token of the family (sliding). */
    expiresAt: ts().notNull(),
    revokedAt: ts(),
    /** logout | reuse_detected | user_blocked | admin */
    revokeReason: text(),
  },
  (t) => [index("auth_sessions_user_idx").on(t.userId)],
);

/** Refresh tokens, stored as SHA-256 only. `used_at` set = rotated; presenting it again is reuse. */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    tokenHash: text().primaryKey(),
    sessionId: text()
      .notNull()
      .references(() => authSessions.id),
    expiresAt: ts().notNull(),
    usedAt: ts(),
    createdAt: createdAt(),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId)],
);

/**
 * One-time markers: a row per consumed credential (Telegram widget hash, DID-signed message),
 * kept until the credential would be stale anyway. Inserting an existing (kind, key) = replay.
 */
export const authReplayGuards = pgTable(
  "auth_replay_guards",
  {
    kind: text().notNull(),
    key: text().notNull(),
    expiresAt: ts().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.key] }), index("auth_replay_expires_idx").on(t.expiresAt)],
);

/**
 * Bot deep-link login (`/start login_<nonce>`) and Telegram linking (`/start link_<token>`).
 * `id` is SHA-256 of the nonce; the browser that started a login also holds `browser_hash`'s secret,
 * so a nonce seen on someone's screen can't be exchanged elsewhere.
 */
export const authLoginRequests = pgTable(
  "auth_login_requests",
  {
    id: text().primaryKey(),
    /** login | link */
    purpose: text().notNull(),
    /** pending → approved → consumed (login); pending → consumed (link). */
    status: text({ enum: ["pending", "approved", "consumed"] }).notNull().default("pending"),
    browserHash: text(),
    /** For `link`: the web user the Telegram id gets linked to. For `login`: set on approval. */
    userId: text().references(() => users.id),
    telegramId: text(),
    ip: text(),
    userAgent: text(),
    expiresAt: ts().notNull(),
    approvedAt: ts(),
    consumedAt: ts(),
    createdAt: createdAt(),
  },
  (t) => [index("auth_login_requests_expires_idx").on(t.expiresAt)],
);

/**
 * A `did:key` identity: which user it is and which API key's settings (limits, models, scopes)
 * its signed requests run under, so DID-authenticated calls get the same AuthContext as a key.
 */
export const didIdentities = pgTable(
  "did_identities",
  {
    did: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id),
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    keyId: text()
      .notNull()
      .references(() => apiKeys.id),
    /** Raw Ed25519 public key, base64url (decoded from the did once, at link time). */
    publicKey: text().notNull(),
    createdAt: createdAt(),
    lastSeenAt: ts(),
  },
  (t) => [index("did_identities_user_idx").on(t.userId)],
);

/** Server-generated secrets that must survive restarts and be shared by every instance (JWT key). */
export const authSecrets = pgTable("auth_secrets", {
  name: text().primaryKey(),
  value: text().notNull(),
  meta: jsonb().$type<Record<string, unknown>>(),
  createdAt: createdAt(),
});
