import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { base58Decode, base58Encode } from "./base58.js";

/**
 * DID-signed requests, pure part. A caller identifies as `did:key:z…` (multibase
 * base58btc of the multicodec `ed25519-pub` prefix 0xed 0x01 + 32-byte public key) and signs
 *
 *   LLMGW-DID-v1\n<METHOD>\n<path with query>\n<x-did-timestamp>\n<hex SHA-256 of the raw body>
 *
 * with that key (Ed25519, signature base64 or base64url in `x-did-signature`).
 */
export const DID_SIGNATURE_DOMAIN = "LLMGW-DID-v1";
const ED25519_MULTICODEC = [0xed, 0x01] as const;
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function didFromPublicKey(raw: Uint8Array): string {
  if (raw.length !== 32) throw new RangeError("Ed25519 public key must be 32 bytes");
  return `did:key:z${base58Encode(Uint8Array.from([...ED25519_MULTICODEC, ...raw]))}`;
}

/** The raw 32-byte Ed25519 key of a did:key, or null if it is not an Ed25519 did:key. */
export function publicKeyFromDid(did: string): Buffer | null {
  if (did.length > 128 || !did.startsWith("did:key:z")) return null;
  const bytes = base58Decode(did.slice("did:key:z".length));
  if (!bytes || bytes.length !== 34 || bytes[0] !== ED25519_MULTICODEC[0] || bytes[1] !== ED25519_MULTICODEC[1]) return null;
  return Buffer.from(bytes.subarray(2));
}

export function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" });
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function didCanonicalString(method: string, pathWithQuery: string, timestamp: string, bodySha256Hex: string): string {
  return [DID_SIGNATURE_DOMAIN, method.toUpperCase(), pathWithQuery, timestamp, bodySha256Hex].join("\n");
}

/** Unix seconds or milliseconds (≥ 1e12) → ms; null when not a plain integer. */
export function parseDidTimestamp(ts: string): number | null {
  if (!/^\d{1,16}$/.test(ts)) return null;
  const n = Number(ts);
  return n >= 1e12 ? n : n * 1000;
}

/** base64 or base64url, padded or not; null unless it decodes to exactly 64 bytes. */
export function decodeSignature(sig: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]{85,86}={0,2}$/.test(sig)) return null;
  const b = Buffer.from(sig.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return b.length === 64 ? b : null;
}

export type DidCheck =
  | { ok: true; did: string; publicKey: Buffer; timestampMs: number; messageHash: string }
  | { ok: false; reason: "missing_headers" | "bad_did" | "bad_timestamp" | "stale_timestamp" | "bad_signature" };

export interface DidRequestParts {
  did: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  method: string;
  pathWithQuery: string;
  body: Uint8Array;
}

/** Checks everything that needs no database: key format, timestamp window, signature. */
export function checkDidSignature(req: DidRequestParts, nowMs: number, windowSec: number): DidCheck {
  if (!req.did || !req.timestamp || !req.signature) return { ok: false, reason: "missing_headers" };
  const publicKey = publicKeyFromDid(req.did);
  if (!publicKey) return { ok: false, reason: "bad_did" };
  const ts = parseDidTimestamp(req.timestamp);
  if (ts === null) return { ok: false, reason: "bad_timestamp" };
  if (Math.abs(nowMs - ts) > windowSec * 1000) return { ok: false, reason: "stale_timestamp" };
  const sig = decodeSignature(req.signature);
  if (!sig) return { ok: false, reason: "bad_signature" };
  const message = didCanonicalString(req.method, req.pathWithQuery, req.timestamp, sha256Hex(req.body));
  let good = false;
  try {
    good = verify(null, Buffer.from(message), publicKeyObject(publicKey), sig);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: "bad_signature" };
  // Replay key over the signed message, not the signature text: base64 vs base64url spellings of
  // one signature would otherwise count as two different requests.
  return { ok: true, did: req.did, publicKey, timestampMs: ts, messageHash: sha256Hex(`${req.did}\n${message}`) };
}

/** Client side (tests, CLI, SDK examples): the three headers for one request. */
export function signDidRequest(
  privateKey: KeyObject | string,
  did: string,
  req: { method: string; pathWithQuery: string; body?: Uint8Array | string; timestamp?: string },
): Record<"x-did" | "x-did-timestamp" | "x-did-signature", string> {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  const timestamp = req.timestamp ?? String(Date.now());
  const body = typeof req.body === "string" ? Buffer.from(req.body) : (req.body ?? new Uint8Array());
  const message = didCanonicalString(req.method, req.pathWithQuery, timestamp, sha256Hex(body));
  return { "x-did": did, "x-did-timestamp": timestamp, "x-did-signature": sign(null, Buffer.from(message), key).toString("base64url") };
}

/** Raw 32-byte public key of an Ed25519 KeyObject (public or private). */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return pub.export({ format: "der", type: "spki" }).subarray(SPKI_ED25519_PREFIX.length);
}
