import { randomBytes, randomFillSync, randomUUID } from "node:crypto";

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

/**
 * Random bytes for ids, drawn from one buffer refilled 4 KiB at a time: a `randomBytes` call per id
 * was 1 % of the request path's CPU (several ids per request: ledger rows, leases). Node's own
 * randomUUID pools the same way. Secrets (API keys, codes) keep `randomBase62`, fresh bytes each
 * time, so no future secret waits in this buffer.
 */
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

function pooledBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    if (poolAt >= POOL.length) {
      randomFillSync(POOL);
      poolAt = 0;
    }
    const b = POOL[poolAt++]! & 63;
    if (b < 62) out += ALPHABET[b];
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
  return `${ID_PREFIX[kind]}_${pooledBase62(20)}`;
}

/** Request ids are generated per request; a UUID without dashes is cheaper than base62 sampling. */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll("-", "")}`;
}
