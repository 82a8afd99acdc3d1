import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, micros, ts } from "../columns.js";

/** One row per proxied request: written `pending` at admission and completed once the response ends. */
export const requestLogs = pgTable(
  "request_logs",
  {
    id: text().primaryKey(),
    accountId: text().notNull(),
    apiKeyId: text(),
    endpoint: text().notNull(),
    requestedModel: text(),
    servedModel: text(),
    providerId: text(),
    upstreamAccountId: text(),
    stream: boolean().notNull().default(false),
    /** `interrupted`: the process serving it died; closed by the hold sweeper with what was billed. */
    status: text({ enum: ["pending", "completed", "failed", "cancelled", "interrupted"] }).notNull().default("pending"),
    // bigint: an upstream may report any count (the writer also clamps what it stores).
    promptTokens: bigint({ mode: "number" }),
    completionTokens: bigint({ mode: "number" }),
    cachedTokens: bigint({ mode: "number" }),
    reasoningTokens: bigint({ mode: "number" }),
    totalTokens: bigint({ mode: "number" }),
    estimated: boolean().notNull().default(false),
    latencyMs: integer(),
    ttftMs: integer(),
    upstreamStatus: integer(),
    errorCode: text(),
    /** Set when the upstream's usage report was corrected before billing (proxy/usage-check.ts names the reasons). */
    usageAnomaly: text(),
    /** Upstream cost and price charged, both in account-currency micros; profit = price - cost. */
    upstreamCostMicros: micros(),
    priceMicros: micros(),
    profitMicros: micros(),
    cacheHit: boolean().notNull().default(false),
    attempts: integer().notNull().default(1),
    meta: jsonb().$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    completedAt: ts(),
  },
  (t) => [
    index("request_logs_account_created_idx").on(t.accountId, t.createdAt),
    index("request_logs_key_created_idx").on(t.apiKeyId, t.createdAt),
    index("request_logs_status_idx").on(t.status),
    // Negative-margin requests for GET /admin/margin (few rows: a partial index).
    index("request_logs_negative_margin_idx").on(t.createdAt).where(sql`${t.profitMicros} < 0`),
  ],
);
