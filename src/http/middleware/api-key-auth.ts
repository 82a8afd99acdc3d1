import type { MiddlewareHandler } from "hono";
import { AppError } from "../../core/errors.js";
import { looksLikeApiKey } from "../../keys/index.js";
import { ipAllowed } from "../../core/ip.js";
import { clientIp } from "../client-ip.js";
import type { AuthContext } from "../../contracts/request.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";

/** Extra ways to authenticate an inference call (e.g. DID-signed requests); tried when there is no Bearer key. */
export type AltAuthenticator = (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => Promise<boolean>;

const MESSAGES = {
  invalid_api_key: "Incorrect API key provided",
  key_revoked: "This API key has been revoked",
  key_disabled: "This API key is disabled",
  key_expired: "This API key has expired",
  account_blocked: "The account of this API key is blocked",
  user_blocked: "The user of this API key is blocked",
} as const;

/**
 * `Authorization: Bearer sk-gw-…` (or, with `xApiKey`, Anthropic's `x-api-key: sk-gw-…`) → `c.var.auth`. Runs before the body is read, so unauthenticated
 * callers cost one header parse and (at most once per TTL) one indexed lookup.
 */
export function apiKeyAuth(deps: AppDeps, opts: { scope?: string; alternatives?: AltAuthenticator[]; xApiKey?: boolean; optional?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const bearer = c.req.header("authorization");
    // Anthropic's clients send the key in `x-api-key` (Claude Code's auth token goes in Authorization).
    const xKey = opts.xApiKey && !bearer ? c.req.header("x-api-key")?.trim() : undefined;
    const header = bearer ?? (xKey ? `Bearer ${xKey}` : undefined);
    const secret = bearerSecret(header);
    // Alternatives (DID headers, a dashboard session's JWT) get every request that carries no API key.
    if (!secret || !looksLikeApiKey(secret)) {
      for (const alt of opts.alternatives ?? []) if (await alt(c)) return next();
    }
    // A public route that prices for the caller when it says who it is (GET /v1/models): no header, no auth.
    if (!header && opts.optional) return next();
    const auth = await authenticateBearer(deps, header, secret, opts.scope, () => clientIp(c), (owner) => c.set("refusedKey", owner));
    c.set("auth", auth);
    return next();
  };
}

/**
 * The Authorization header once no alternative took the request: missing, not an API key, or the
 * key's verdict (cached), its scope and its IP allow-list. Shared with the inference front, so both
 * refuse with the same codes and messages. A refused key that exists is named to `refused` so the
 * refusal trail can log it against its account.
 */
export async function authenticateBearer(
  deps: Pick<AppDeps, "keys">,
  header: string | undefined,
  secret: string | null,
  scope: string | undefined,
  ip: () => string | null,
  refused: (owner: { keyId: string; accountId: string }) => void,
): Promise<AuthContext> {
  if (!header) throw new AppError("missing_api_key", "You didn't provide an API key. Send it as `Authorization: Bearer <key>`");
  if (!secret || !looksLikeApiKey(secret)) throw new AppError("invalid_api_key", MESSAGES.invalid_api_key);
  const r = await deps.keys.verify(secret);
  if (!r.ok) {
    if (r.owner) refused(r.owner);
    throw new AppError(r.code, MESSAGES[r.code]);
  }
  if (scope && !r.auth.scopes.includes(scope)) {
    throw new AppError("forbidden", `This API key lacks the \`${scope}\` scope`);
  }
  if (r.auth.ipAllowlist && r.auth.ipAllowlist.length && !ipAllowed(r.auth.ipAllowlist, ip())) {
    throw new AppError("ip_not_allowed", "This API key may not be used from this IP address");
  }
  return r.auth;
}

/** `Authorization: Bearer <secret>` → the secret (null when the header has another shape). */
export function bearerSecret(header: string | undefined): string | null {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1] ?? null;
}

// One client-address function for every caller (behind TRUSTED_PROXIES it is the real client).
export { clientIp } from "../client-ip.js";
