import { createHash } from "node:crypto";
import { randomBase62 } from "../core/ids.js";

export const KEY_PREFIX = "sk-gw-";
const SECRET_LENGTH = 40;

/** SHA-256 hex of the whole key string; keys are high-entropy so a fast hash is the right tool. */
export function hashApiKey(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export interface GeneratedKey {
  secret: string;
  hash: string;
  /** Display prefix kept in the database, e.g. `sk-gw-AbC1…` */
  start: string;
}

export function generateApiKey(): GeneratedKey {
  const secret = KEY_PREFIX + randomBase62(SECRET_LENGTH);
  return { secret, hash: hashApiKey(secret), start: secret.slice(0, KEY_PREFIX.length + 4) };
}

/** `sk-gw-AbC1…wxyz`-style masking for listings and logs. */
export function maskKey(startOrSecret: string): string {
  return `${startOrSecret.slice(0, KEY_PREFIX.length + 4)}…`;
}

/** Cheap shape check before any hashing or lookup: the secret itself can't be guessed from this. */
export function looksLikeApiKey(s: string): boolean {
  return s.startsWith(KEY_PREFIX) && s.length >= KEY_PREFIX.length + 32 && s.length <= 128 && /^[A-Za-z0-9_-]+$/.test(s);
}
