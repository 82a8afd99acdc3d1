/** Keyset pagination over (created_at desc, id desc): stable under inserts, no OFFSET scans. */
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
