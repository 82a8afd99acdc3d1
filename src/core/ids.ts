import { randomBytes, randomUUID } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Uniform base62 string from crypto randomness (rejection sampling, no modulo bias). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    const buf = randomBytes(length * 2);
    for (let i = 0; i < buf.length && out.length < length; i++) {
      const b = buf[i]! & 63;
      if (b < 62) out += ALPHABET[b];
    }
  }
  return out;
}

/** Every id prefix lives here, so ids say what they are in logs and support tickets. */
export const ID_PREFIX = {
  account: "acct",
  user: "usr",
  key: "key",
  request: "req",
  ledger: "led",
  hold: "hold",
  lease: "lse",
  tariff: "trf",
  provider: "prv",
  upstreamAccount: "ua",
  order: "ord",
  audit: "aud",
  session: "ses",
  priceChange: "pc",
} as const;

export type IdKind = keyof typeof ID_PREFIX;

export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${randomBase62(20)}`;
}

/** Request ids are generated per request; a UUID without dashes is cheaper than base62 sampling. */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll("-", "")}`;
}
