import { sql } from "drizzle-orm";
import { bigint, timestamp } from "drizzle-orm/pg-core";

/** Money column: bigint micro-units, never float. Name ends in `_micros` by convention. */
export const micros = () => bigint({ mode: "bigint" });
/** NOT NULL DEFAULT 0 money column (drizzle-kit cannot serialize a bigint literal default, hence sql). */
export const microsZero = () => bigint({ mode: "bigint" }).notNull().default(sql`0`);
export const createdAt = () => timestamp({ withTimezone: true, mode: "date" }).notNull().defaultNow();
export const ts = () => timestamp({ withTimezone: true, mode: "date" });
