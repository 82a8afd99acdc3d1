import { index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt } from "../columns.js";

/** Every admin (and bot/system) write: who, what, before/after, when. Append-only. */
export const auditLog = pgTable(
  "audit_log",
  {
    id: text().primaryKey(),
    /** `admin:<userId|token>`, `user:<id>`, `telegram:<id>`, `system`, `cli`. */
    actor: text().notNull(),
    action: text().notNull(),
    targetType: text().notNull(),
    targetId: text(),
    before: jsonb().$type<unknown>(),
    after: jsonb().$type<unknown>(),
    ip: text(),
    createdAt: createdAt(),
  },
  (t) => [index("audit_created_idx").on(t.createdAt), index("audit_target_idx").on(t.targetType, t.targetId)],
);
