import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { createdAt, micros, microsZero, ts } from "../columns.js";

/**
 * Named plans. `markup_ppm` is the sale multiplier in parts per million (1.5 → 1_500_000).
 * `limits` are quota defaults for the scope the tariff is attached to (an account, or a key that
 * overrides its account's tariff); `key_limits` are defaults for every key of an account on this
 * tariff; `token_allowance` is shorthand for `limits.total_tokens` (the "Test Basic" tariff).
 * `rate_limits` is read by the rate limiter: `{rpm?, rpd?, tpm?, concurrency?}` (see billing/README.md).
 */
export const tariffs = pgTable(
  "tariffs",
  {
    id: text().primaryKey(),
    name: text().notNull().unique(),
    description: text().notNull().default(""),
    markupPpm: bigint({ mode: "bigint" }).notNull(),
    isDefault: boolean().notNull().default(false),
    status: text({ enum: ["active", "archived"] }).notNull().default("active"),
    tokenAllowance: bigint({ mode: "number" }),
    limits: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    keyLimits: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    /** Null = every model; entries are exact ids or prefixes ending in `*`. */
    allowedModels: jsonb().$type<string[] | null>(),
    /** Per-model markup overrides for this tariff: `{"openai/gpt-4o": "1.2"}`. */
    modelMarkups: jsonb().$type<Record<string, string>>().notNull().default({}),
    rateLimits: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    /** Margin guard (billing/margin.ts): charge_reported | list_price; null = BILLING_MARGIN_RULE. */
    marginRule: text({ enum: ["charge_reported", "list_price"] }),
    createdAt: createdAt(),
    updatedAt: ts().notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("tariffs_one_default_uq").on(t.isDefault).where(sql`${t.isDefault}`),
    check("tariffs_markup_pos", sql`${t.markupPpm} > 0`),
  ],
);

/**
 * The price book: upstream cost in USD micros per 1M tokens, per model and provider (`*` = any
 * provider). Overrides and extends the gateway config's prices. Written by catalog sync and admins.
 */
export const modelPrices = pgTable(
  "model_prices",
  {
    modelId: text().notNull(),
    providerId: text().notNull().default("*"),
    inputMicrosPerM: micros().notNull(),
    outputMicrosPerM: micros().notNull(),
    cachedInputMicrosPerM: micros(),
    /** Prompt tokens written to the upstream's prompt cache (Anthropic); null: the input price. */
    cacheWriteMicrosPerM: micros(),
    reasoningMicrosPerM: micros(),
    /** Per-model markup override for every tariff (ppm); a tariff's `model_markups` wins over it. */
    markupPpm: bigint({ mode: "bigint" }),
    contextLength: integer(),
    maxOutput: integer(),
    name: text(),
    /** `admin` rows are pinned: catalog sync never overwrites them. */
    source: text({ enum: ["admin", "sync"] }).notNull().default("admin"),
    updatedAt: ts().notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.providerId] })],
);

/** USD → account-currency rate history; the newest row is the rate in force. Never fetched silently. */
export const fxRates = pgTable(
  "fx_rates",
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    currency: text().notNull(),
    /** Account-currency units per 1 USD, × 1e6 (100 RUB/USD → 100_000_000). */
    rateMicros: bigint({ mode: "bigint" }).notNull(),
    actor: text().notNull().default("system"),
    reason: text(),
    createdAt: createdAt(),
  },
  (t) => [index("fx_rates_currency_idx").on(t.currency, t.id), check("fx_rates_pos", sql`${t.rateMicros} > 0`)],
);

/** A catalog-sync price change larger than the guard allows, waiting for an admin. */
export const priceChanges = pgTable(
  "price_changes",
  {
    id: text().primaryKey(),
    modelId: text().notNull(),
    providerId: text().notNull(),
    /** Old and new prices as `{input, output, cached_input, reasoning}` micros-per-1M strings. */
    oldPrice: jsonb().$type<Record<string, string | null>>(),
    newPrice: jsonb().$type<Record<string, string | null>>().notNull(),
    /** Extra catalog fields to apply with the price (context length, max output, name). */
    newMeta: jsonb().$type<Record<string, unknown>>(),
    /** Largest relative change among the price components, in basis points (null = from/to zero). */
    changeBp: integer(),
    status: text({ enum: ["pending", "approved", "rejected", "superseded"] }).notNull().default("pending"),
    source: text().notNull().default("sync"),
    decidedBy: text(),
    decidedAt: ts(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("price_changes_pending_uq").on(t.modelId, t.providerId).where(sql`${t.status} = 'pending'`),
    index("price_changes_status_idx").on(t.status, t.createdAt),
  ],
);

/**
 * One row per admitted request: the hold taken before forwarding (`open`), then its outcome
 * (`settled` with the charge, or `released`). `counters` are the usage_counters rows the hold
 * reserved in, so settlement corrects exactly those windows. `snapshot` freezes the prices, markup
 * and rate at admission so settlement (or the sweeper) uses them.
 */
export const holds = pgTable(
  "holds",
  {
    requestId: text().primaryKey(),
    accountId: text().notNull(),
    keyId: text(),
    model: text().notNull(),
    status: text({ enum: ["open", "settled", "released"] }).notNull().default("open"),
    amountMicros: micros().notNull(),
    heldTokens: bigint({ mode: "number" }).notNull().default(0),
    maxTokens: integer(),
    counters: text().array().notNull().default(sql`'{}'::text[]`),
    snapshot: jsonb().$type<Record<string, unknown>>().notNull(),
    chargedMicros: micros(),
    upstreamCostMicros: micros(),
    /** Price the usage came to minus what the balance could cover (absorbed by the operator). */
    shortfallMicros: micros(),
    promptTokens: integer(),
    completionTokens: integer(),
    providerId: text(),
    /**
     * Stream progress, written while the response is streaming (src/billing/stream-progress.ts):
     * the prompt count and an upper bound of the completion tokens the client may have received —
     * recorded before they are sent. After a crash the sweeper charges for this, never less than
     * what was delivered.
     */
    progressPromptTokens: integer(),
    progressCompletionTokens: integer(),
    progressAt: ts(),
    createdAt: createdAt(),
    expiresAt: ts().notNull(),
    settledAt: ts(),
  },
  (t) => [
    // The sweeper's only access path; settled rows leave it. (No other secondary index: every one
    // costs a write on the hot path.)
    index("holds_open_expires_idx").on(t.expiresAt).where(sql`${t.status} = 'open'`),
    check("holds_amount_nonneg", sql`${t.amountMicros} >= 0`),
  ],
);

/**
 * Quota windows, held and settled like money in the same statement as the balance hold.
 * id = `<scope>|<period>`: scope `k:<keyId>` or `a:<accountId>`, period `d:YYYY-MM-DD`, `m:YYYY-MM`
 * or `t` (all time). A row exists only for windows that some limit watches.
 */
export const usageCounters = pgTable(
  "usage_counters",
  {
    id: text().primaryKey(),
    usedTokens: bigint({ mode: "number" }).notNull().default(0),
    heldTokens: bigint({ mode: "number" }).notNull().default(0),
    usedMicros: microsZero(),
    heldMicros: microsZero(),
    /** Admitted requests (a released hold gives its request back). */
    requests: bigint({ mode: "number" }).notNull().default(0),
    updatedAt: ts().notNull().defaultNow(),
  },
  (t) => [
    check("usage_counters_held_nonneg", sql`${t.heldTokens} >= 0 and ${t.heldMicros} >= 0 and ${t.requests} >= 0`),
  ],
);

/**
 * A slice of an account's spendable balance taken by one gateway process (billing/lease.ts): while
 * `open`, `amount_micros` is part of `accounts.reserved_micros`, so Σ open leases + Σ open holds ≤
 * the balance across processes. The process admits requests against the slice in memory; each
 * charge it applies (one batch, see lease-apply) moves from the lease to the ledger. An expired
 * lease (its process died or lost the database) is closed by the hold sweeper, which gives its
 * remaining amount back.
 */
export const balanceLeases = pgTable(
  "balance_leases",
  {
    id: text().primaryKey(),
    accountId: text().notNull(),
    /** `<host>:<pid>:<random>` of the process that holds it. */
    instanceId: text().notNull(),
    status: text({ enum: ["open", "returned", "expired"] }).notNull().default("open"),
    /** What the slice still reserves (account micros). */
    amountMicros: micros().notNull(),
    /** What it reserved when taken or last topped up, for the operator's view. */
    grantedMicros: micros().notNull(),
    createdAt: createdAt(),
    expiresAt: ts().notNull(),
    closedAt: ts(),
  },
  (t) => [
    index("balance_leases_open_expires_idx").on(t.expiresAt).where(sql`${t.status} = 'open'`),
    check("balance_leases_amount_nonneg", sql`${t.amountMicros} >= 0`),
  ],
);
