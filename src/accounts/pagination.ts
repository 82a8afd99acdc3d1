/** Keyset pagination over (created_at desc, id desc): stable under inserts, no OFFSET scans. */
import { and, eq, lt, or, type SQL } from "drizzle-orm";

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString("base64url");
}

export function decodeCursor(cursor: string): { at: Date; id: string } | null {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (!Array.isArray(v) || typeof v[0] !== "string" || typeof v[1] !== "string") return null;
    const at = new Date(v[0]);
    return Number.isNaN(at.getTime()) ? null : { at, id: v[1] };
  } catch {
    return null;
  }
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** A page size the caller asked for, within 1…max. */
export function clampLimit(n: number | undefined, def = 50, max = 500): number {
  return Math.min(Math.max(n ?? def, 1), max);
}

/** The condition for rows after the cursor (null: first page). */
export function keyset(createdAt: Parameters<typeof lt>[0], id: Parameters<typeof lt>[0], cursor: string | null | undefined): SQL | null {
  const c = cursor ? decodeCursor(cursor) : null;
  return c ? or(lt(createdAt, c.at), and(eq(createdAt, c.at), lt(id, c.id)))! : null;
}

/** `limit + 1` rows fetched → one page and the cursor of the next (null when none follows). */
export function page<T extends { createdAt: Date; id: string }, V>(rows: T[], limit: number, view: (r: T) => V): Page<V> {
  const slice = rows.slice(0, limit);
  const last = slice[slice.length - 1];
  return { data: slice.map(view), next_cursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
}
