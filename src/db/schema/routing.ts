import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, micros, ts } from "../columns.js";

/**
 * Providers added through the admin API, next to those of the config file (ids may not collide).
 * They hold no credentials: keys live in upstream_accounts.
 */
export const routingProviders = pgTable("routing_providers", {
  id: text().primaryKey(),
  type: text({ enum: ["openrouter", "openai", "litellm", "mock", "anthropic", "gemini"] }).notNull(),
  baseUrl: text(),
  modelPrefix: text().notNull().default(""),
  headers: jsonb().$type<Record<string, string>>().notNull().default({}),
  /** `{connect_ms, first_byte_ms, idle_ms, total_ms}` as in the config file. */
  timeouts: jsonb().$type<Record<string, number>>().notNull().default({}),
  enabled: boolean().notNull().default(true),
  createdAt: createdAt(),
  updatedAt: ts().notNull().defaultNow(),
});

/**
 * Upstream (master) accounts of a provider, config-file or admin-made: the API key is
 * sealed with AES-256-GCM under ENCRYPTION_KEY (routing/secret-box.ts), never stored in plain text.
 */
export const upstreamAccounts = pgTable(
  "upstream_accounts",
  {
    id: text().primaryKey(),
    providerId: text().notNull(),
    name: text().notNull().default(""),
    /** `v1.<keyId>.<iv>.<tag>.<ciphertext>`, the account id bound as AAD. */
    apiKeyEncrypted: text().notNull(),
    /** Display form only (`sk-or-v1-…abcd`). */
    apiKeyMask: text().notNull(),
    /** Upstream discount in basis points (7000 = 70 % off the list price). */
    discountBp: integer().notNull().default(0),
    /** Known upstream balance in USD micros (admin-entered or synced), null = unknown. */
    balanceMicros: micros(),
    balanceCheckedAt: ts(),
    /** Load-balancing weight among the provider's accounts; 0 = standby only. */
    weight: integer().notNull().default(1),
    enabled: boolean().notNull().default(true),
    createdAt: createdAt(),
    updatedAt: ts().notNull().defaultNow(),
  },
  (t) => [
    index("upstream_accounts_provider_idx").on(t.providerId),
    check("upstream_accounts_discount_range", sql`${t.discountBp} >= 0 and ${t.discountBp} <= 10000`),
    check("upstream_accounts_weight_nonneg", sql`${t.weight} >= 0`),
  ],
);

/**
 * Routes edited at runtime. A row with the same (model, provider, upstream model) as a config
 * route overrides its priority/weight/enabled; other rows add routes to the model.
 */
export const modelRoutes = pgTable(
  "model_routes",
  {
    id: text().primaryKey(),
    modelId: text().notNull(),
    providerId: text().notNull(),
    upstreamModel: text().notNull(),
    priority: integer().notNull().default(1),
    weight: integer().notNull().default(1),
    enabled: boolean().notNull().default(true),
    createdAt: createdAt(),
    updatedAt: ts().notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("model_routes_uq").on(t.modelId, t.providerId, t.upstreamModel),
    check("model_routes_weight_nonneg", sql`${t.weight} >= 0`),
  ],
);

/** A known plaintext sealed under ENCRYPTION_KEY: start-up proves the configured key is the one in use. */
export const encryptionCheck = pgTable("encryption_check", {
  id: text().primaryKey(),
  keyId: text().notNull(),
  value: text().notNull(),
  createdAt: createdAt(),
});
