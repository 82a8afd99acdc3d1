import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Password hashing with scrypt (memory-hard, in node:crypto). The stored form carries its own
 * parameters and salt, so the cost can be raised later without invalidating old hashes:
 *   scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>
 */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 2^15 × r=8 → 32 MiB per hash, ~50–100 ms on one core: OWASP's minimum for scrypt. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
const KEY_LEN = 32;
const SALT_LEN = 16;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

function scryptAsync(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r * params.p * 2 + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFKC"), salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const hash = await scryptAsync(password, salt, params);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64url"), hash.toString("base64url")].join("$");
}

interface Parsed {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function parseStored(stored: string): Parsed | null {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return null;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  // Bounds keep a tampered row from turning one login into a gigabyte allocation.
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) {
    return null;
  }
  const salt = Buffer.from(parts[4]!, "base64url");
  const hash = Buffer.from(parts[5]!, "base64url");
  if (salt.length < 8 || hash.length !== KEY_LEN) return null;
  return { params: { N, r, p }, salt, hash };
}

/** Constant-time comparison of the derived key; a malformed stored hash never verifies. */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parsed = stored ? parseStored(stored) : null;
  if (!parsed) {
    // Same work as a real check, so "no such user / no password set" is not faster than a wrong password.
    await scryptAsync(password, DUMMY_SALT, DEFAULT_SCRYPT);
    return false;
  }
  const derived = await scryptAsync(password, parsed.salt, parsed.params);
  return timingSafeEqual(derived, parsed.hash);
}

const DUMMY_SALT = randomBytes(SALT_LEN);

/** True when the hash was made with weaker parameters than `target` (rehash on next successful login). */
export function needsRehash(stored: string, target: ScryptParams = DEFAULT_SCRYPT): boolean {
  const parsed = parseStored(stored);
  if (!parsed) return true;
  return parsed.params.N < target.N || parsed.params.r < target.r || parsed.params.p < target.p;
}

/** Null when acceptable, else the reason (shown to the user). */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  return null;
}
