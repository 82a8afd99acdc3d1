import type { Context, MiddlewareHandler } from "hono";
import { authenticateDid, type DidAuthResult, type DidIdentity } from "../../accounts/did.js";
import { AppError } from "../../core/errors.js";
import type { AuthContext } from "../../contracts/request.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { ipAllowed } from "../../core/ip.js";
import { clientIp } from "./api-key-auth.js";

/**
 * DID-signed requests (seed 004): `x-did`, `x-did-timestamp`, `x-did-signature` instead of a Bearer
 * key. The result is the same AuthContext an API key gives (the DID's bound key), so the proxy,
 * billing and rate limits treat both alike.
 */

const FAILURE: Record<Exclude<DidAuthResult, { ok: true }>["reason"], string> = {
  missing_headers: "DID authentication needs x-did, x-did-timestamp and x-did-signature",
  bad_did: "x-did must be a did:key with an Ed25519 public key (z6Mk…)",
  bad_timestamp: "x-did-timestamp must be unix seconds or milliseconds",
  stale_timestamp: "x-did-timestamp is outside the accepted window; check the client clock",
  bad_signature: "DID signature does not verify",
  replayed: "This signed request was already used",
  unknown_did: "Unknown DID",
  key_rejected: "The DID's key is not usable",
};

const KEY_MESSAGES = {
  invalid_api_key: "Unknown DID",
  key_revoked: "The DID's API key has been revoked",
  key_disabled: "The DID's API key is disabled",
  key_expired: "The DID's API key has expired",
  account_blocked: "The DID's account is blocked",
  user_blocked: "The DID's user is blocked",
} as const;

export function hasDidHeaders(c: Context): boolean {
  return c.req.header("x-did") !== undefined;
}

/**
 * Authenticates the request by its DID headers; throws AppError on any failure. Reads the raw body
 * (Hono caches it, so the route's JSON validator still sees it).
 */
export async function authenticateDidRequest(deps: AppDeps, c: Context): Promise<{ auth: AuthContext; identity: DidIdentity; provisioned: boolean }> {
  if (!deps.settings.did.enabled) throw new AppError("invalid_signature", "DID authentication is disabled on this gateway");
  deps.auth.maybePrune();
  const url = new URL(c.req.url);
  const method = c.req.method.toUpperCase();
  const body = method === "GET" || method === "HEAD" ? new Uint8Array() : new Uint8Array(await c.req.arrayBuffer());
  const r = await authenticateDid(
    deps.db,
    {
      did: c.req.header("x-did"),
      timestamp: c.req.header("x-did-timestamp"),
      signature: c.req.header("x-did-signature"),
      method,
      pathWithQuery: url.pathname + url.search,
      body,
    },
    {
      windowSec: deps.settings.did.timestampWindowSec,
      autoProvision: deps.settings.did.autoProvision,
      nowMs: deps.clock.now(),
      // The gateway's key verifier: cached like Bearer keys, and it adds the tariff's rate limits.
      resolveKey: (id) => deps.keys.verifyKeyId(id),
    },
  );
  if (!r.ok) {
    if (r.reason === "key_rejected") throw new AppError(r.code, KEY_MESSAGES[r.code]);
    throw new AppError("invalid_signature", FAILURE[r.reason]);
  }
  if (r.auth.ipAllowlist?.length) {
    const ip = clientIp(c);
    if (!ipAllowed(r.auth.ipAllowlist, ip)) throw new AppError("ip_not_allowed", "This DID's key may not be used from this IP address");
  }
  return r;
}

/**
 * For the lead's API-key middleware: `apiKeyAuth(deps, { scope, alternatives: [didAuthenticator(deps, scope)] })`.
 * Returns false (not handled) without `x-did`; otherwise sets `c.var.auth` or throws.
 */
export function didAuthenticator(deps: AppDeps, scope = "inference"): (c: Context<AppEnv>) => Promise<boolean> {
  return async (c) => {
    if (!hasDidHeaders(c)) return false;
    const r = await authenticateDidRequest(deps, c);
    if (scope && !r.auth.scopes.includes(scope)) throw new AppError("forbidden", `The DID's key lacks the \`${scope}\` scope`);
    c.set("auth", r.auth);
    return true;
  };
}

/** Routes that only DID callers use (seed 004's /api/v1/usage). */
export function didAuth(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!hasDidHeaders(c)) throw new AppError("missing_api_key", FAILURE.missing_headers);
    const r = await authenticateDidRequest(deps, c);
    c.set("auth", r.auth);
    return next();
  };
}
