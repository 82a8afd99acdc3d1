import { index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, ts } from "../columns.js";
import { accounts, users } from "./accounts.js";

/**
 * API keys. Only the SHA-256 of the secret is stored (keys are high-entropy, so a slow KDF would
 * only cost latency); `start` is the display prefix shown in listings.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: text().primaryKey(),
    accountId: text()
      .notNull()
      .references(() => accounts.id),
    userId: text().references(() => users.id),
    name: text().notNull().default(""),
    keyHash: text().notNull().unique(),
    start: text().notNull(),
    status: text({ enum: ["active", "disabled", "revoked"] }).notNull().default("active"),
    /** `inference` (model calls, own usage) and `manage` (key management for its account). */
    scopes: jsonb().$type<string[]>().notNull().default(["inference"]),
    allowedModels: jsonb().$type<string[] | null>(),
    ipAllowlist: jsonb().$type<string[] | null>(),
    /** Key-level quotas (billing's QuotaLimits shape). */
    limits: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    /** Key-level rate-limit overrides (ratelimit's shape). */
    rateLimits: jsonb().$type<Record<string, unknown> | null>(),
    /** Per-key options, e.g. `{cache: true}` for the response cache. */
    options: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    expiresAt: ts(),
    /** Rotation: the old secret keeps working until previous_expires_at. */
    previousHash: text().unique(),
    previousExpiresAt: ts(),
    lastUsedAt: ts(),
    createdAt: createdAt(),
    revokedAt: ts(),
  },
  (t) => [index("api_keys_account_idx").on(t.accountId)],
);
