import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * AES-256-GCM for upstream API keys at rest. Stored form (versioned so the scheme can change):
 *
 *   v1.<keyId>.<iv>.<tag>.<ciphertext>        (base64url parts, 96-bit random IV, 128-bit tag)
 *
 * `keyId` is a short HMAC fingerprint of ENCRYPTION_KEY, so a value sealed under another key is
 * recognised as such instead of failing with a bare "unsupported state" from OpenSSL. The caller's
 * `context` (e.g. the upstream account id) is bound as additional authenticated data: a ciphertext
 * copied onto another row does not decrypt.
 */
const VERSION = "v1";

export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

export interface SecretBox {
  readonly keyId: string;
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

export function keyFingerprint(key: Buffer): string {
  return createHmac("sha256", key).update("llm-gateway/secret-box/key-id").digest("base64url").slice(0, 8);
}

/** `hexKey` is ENCRYPTION_KEY: 64 hex characters (32 bytes). */
export function createSecretBox(hexKey: string): SecretBox {
  if (!/^[0-9a-fA-F]{64}$/.test(hexKey)) throw new SecretBoxError("ENCRYPTION_KEY must be 64 hex characters (32 bytes)");
  const key = Buffer.from(hexKey, "hex");
  const keyId = keyFingerprint(key);
  return {
    keyId,
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", key, iv);
      c.setAAD(Buffer.from(context, "utf8"));
      const ct = Buffer.concat([c.update(plaintext, "utf8"), c.final()]);
      const tag = c.getAuthTag();
      return [VERSION, keyId, iv.toString("base64url"), tag.toString("base64url"), ct.toString("base64url")].join(".");
    },
    open(sealed, context) {
      const parts = sealed.split(".");
      if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretBoxError("not a sealed value of a known version");
      const [, kid, ivB, tagB, ctB] = parts as [string, string, string, string, string];
      if (kid.length !== keyId.length || !timingSafeEqual(Buffer.from(kid), Buffer.from(keyId))) {
        throw new SecretBoxError(`sealed under another ENCRYPTION_KEY (key id ${kid}, current key id ${keyId})`);
      }
      const iv = Buffer.from(ivB, "base64url");
      const tag = Buffer.from(tagB, "base64url");
      if (iv.length !== 12 || tag.length !== 16) throw new SecretBoxError("malformed sealed value");
      try {
        const d = createDecipheriv("aes-256-gcm", key, iv);
        d.setAAD(Buffer.from(context, "utf8"));
        d.setAuthTag(tag);
        return Buffer.concat([d.update(Buffer.from(ctB, "base64url")), d.final()]).toString("utf8");
      } catch {
        throw new SecretBoxError("sealed value failed authentication (tampered, wrong row, or wrong key)");
      }
    },
  };
}

/** Display form of a secret: enough to tell keys apart, never enough to use one. */
export function maskSecret(secret: string): string {
  if (secret.length < 12) return "****";
  const dash = secret.slice(0, 10).lastIndexOf("-");
  const head = dash > 0 ? secret.slice(0, dash + 1) : secret.slice(0, 3);
  return `${head}…${secret.slice(-4)}`;
}

/** Plaintext sealed as the check value; the context keeps it from being reused anywhere else. */
export const CHECK_PLAINTEXT = "llm-gateway encryption check v1";
export const CHECK_CONTEXT = "encryption_check";
