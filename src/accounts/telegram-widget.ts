import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Telegram Login Widget / `login_url` verification (research telegram-payments.md §3.2):
 * data_check_string = every received field except `hash`, `key=value`, sorted, joined by "\n";
 * hash = hex(HMAC-SHA256(key = SHA-256(bot_token), data_check_string)), compared in constant time;
 * `auth_date` must be fresh. Replay protection (the hash is single-use) is done by the caller in the DB.
 */
export interface TelegramWidgetUser {
  id: number;
  firstName: string | null;
  lastName: string | null;
  username: string | null;
  photoUrl: string | null;
  authDate: number;
  hash: string;
}

export type WidgetCheck =
  | { ok: true; user: TelegramWidgetUser }
  | { ok: false; reason: "missing_fields" | "bad_hash" | "stale" | "from_future" };

/**
 * Every received field takes part in the hash (fields Telegram adds later keep verifying), so a
 * parameter of our own on the callback URL makes the check fail: the callback path carries none.
 */
const MAX_FIELDS = 16;
const MAX_VALUE_LEN = 1024;

export function telegramDataCheckString(fields: Record<string, string>): string {
  return Object.keys(fields)
    .filter((k) => k !== "hash")
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join("\n");
}

export function telegramWidgetHash(fields: Record<string, string>, botToken: string): string {
  const secret = createHash("sha256").update(botToken).digest();
  return createHmac("sha256", secret).update(telegramDataCheckString(fields)).digest("hex");
}

/** Allowed clock skew for `auth_date` in the future (Telegram's clock vs ours). */
const FUTURE_SKEW_SEC = 60;

export function verifyTelegramWidget(
  raw: Record<string, unknown>,
  botToken: string,
  nowSec: number,
  maxAgeSec: number,
): WidgetCheck {
  const fields: Record<string, string> = {};
  const entries = Object.entries(raw);
  if (entries.length > MAX_FIELDS) return { ok: false, reason: "bad_hash" };
  for (const [k, v] of entries) {
    if (v === undefined || v === null) continue;
    if (!/^[a-z_]{1,32}$/.test(k) || String(v).length > MAX_VALUE_LEN) return { ok: false, reason: "bad_hash" };
    // Telegram sends id/auth_date as numbers in the JS callback and as strings in the redirect.
    if (typeof v !== "string" && typeof v !== "number") return { ok: false, reason: "bad_hash" };
    fields[k] = String(v);
  }
  const hash = fields.hash;
  if (!hash || !fields.id || !fields.auth_date) return { ok: false, reason: "missing_fields" };
  if (!/^[0-9a-f]{64}$/i.test(hash)) return { ok: false, reason: "bad_hash" };
  const expected = Buffer.from(telegramWidgetHash(fields, botToken), "hex");
  if (!timingSafeEqual(expected, Buffer.from(hash.toLowerCase(), "hex"))) return { ok: false, reason: "bad_hash" };
  if (!/^\d{1,16}$/.test(fields.id) || !/^\d{1,12}$/.test(fields.auth_date)) return { ok: false, reason: "missing_fields" };
  const authDate = Number(fields.auth_date);
  if (authDate > nowSec + FUTURE_SKEW_SEC) return { ok: false, reason: "from_future" };
  if (nowSec - authDate > maxAgeSec) return { ok: false, reason: "stale" };
  return {
    ok: true,
    user: {
      id: Number(fields.id),
      firstName: fields.first_name ?? null,
      lastName: fields.last_name ?? null,
      username: fields.username ?? null,
      photoUrl: fields.photo_url ?? null,
      authDate,
      hash: hash.toLowerCase(),
    },
  };
}
