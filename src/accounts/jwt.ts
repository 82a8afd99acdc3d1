import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Minimal HS256 JWT (RFC 7519) for access tokens. Only HS256 is accepted: the header is compared
 * to the one fixed value, so `alg: none` and algorithm-confusion tricks fail before any crypto.
 */
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

export interface AccessClaims {
  /** User id. */
  sub: string;
  /** Session (refresh-token family) id. */
  sid: string;
  /** Account id at issue time (authorization always re-reads the user row). */
  acc: string;
  role: "client" | "admin";
  typ: "access";
  /** Random id: two tokens issued in the same second still differ. */
  jti?: string;
  iat: number;
  exp: number;
}

export type JwtResult = { ok: true; claims: AccessClaims } | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

function sign(input: string, secret: string): Buffer {
  return createHmac("sha256", secret).update(input).digest();
}

export function signJwt(claims: AccessClaims, secret: string): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const body = `${HEADER}.${payload}`;
  return `${body}.${sign(body, secret).toString("base64url")}`;
}

export function verifyJwt(token: string, secret: string, nowSec: number): JwtResult {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== HEADER) return { ok: false, reason: "malformed" };
  const given = Buffer.from(parts[2]!, "base64url");
  const expected = sign(`${parts[0]}.${parts[1]}`, secret);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad_signature" };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!isAccessClaims(claims)) return { ok: false, reason: "malformed" };
  if (claims.exp <= nowSec) return { ok: false, reason: "expired" };
  return { ok: true, claims };
}

function isAccessClaims(c: unknown): c is AccessClaims {
  if (typeof c !== "object" || c === null) return false;
  const o = c as Record<string, unknown>;
  return (
    o.typ === "access" &&
    typeof o.sub === "string" &&
    typeof o.sid === "string" &&
    typeof o.acc === "string" &&
    (o.role === "client" || o.role === "admin") &&
    Number.isSafeInteger(o.iat) &&
    Number.isSafeInteger(o.exp)
  );
}
