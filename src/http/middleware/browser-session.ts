import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { and, eq, isNull, sql } from "drizzle-orm";
import { AppError } from "../../core/errors.js";
import { accounts, apiKeys } from "../../db/schema/index.js";
import { createApiKey } from "../../keys/index.js";
import type { AuthContext } from "../../contracts/request.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import type { AltAuthenticator } from "./api-key-auth.js";
import { COOKIES, sessionPrincipal, type Principal } from "./session-auth.js";

/**
 * The dashboard's session on routes that were built for API keys (usage views, the playground).
 * Only a session (Bearer JWT or the access cookie) is handled here; anything else returns false
 * so the API-key path decides.
 */

const JWT_SHAPE = /^Bearer\s+[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\s*$/i;

function carriesSession(c: Context<AppEnv>): boolean {
  const h = c.req.header("authorization");
  if (h) return JWT_SHAPE.test(h);
  return getCookie(c, COOKIES.access) !== undefined;
}

async function principalOf(deps: AppDeps, c: Context<AppEnv>): Promise<Principal & { accountId: string }> {
  const p = await sessionPrincipal(deps, c);
  if (!p) throw new AppError("invalid_token", "Invalid session token");
  if (!p.accountId) throw new AppError("forbidden", "This session has no account");
  return p as Principal & { accountId: string };
}

/**
 * For read-only account views (/v1/client/*, /v1/generation): the session's account with no key.
 * `keyId` is empty, so key-scoped figures (/limits' key part, /v1/key) show no key limits.
 */
export function sessionAccountAuthenticator(deps: AppDeps): AltAuthenticator {
  return async (c) => {
    if (!carriesSession(c)) return false;
    const p = await principalOf(deps, c);
    const [a] = await deps.db.select({ limits: accounts.limits, tariffId: accounts.tariffId }).from(accounts).where(eq(accounts.id, p.accountId));
    if (!a) throw new AppError("not_found", "Account not found");
    const auth: AuthContext = {
      keyId: "",
      accountId: p.accountId,
      userId: p.userId,
      scopes: [],
      allowedModels: null,
      ipAllowlist: null,
      keyLimits: {},
      accountLimits: a.limits,
      keyRateLimits: null,
      keyOptions: {},
      tariffId: a.tariffId,
      tariffRateLimits: null,
    };
    c.set("auth", auth);
    return true;
  };
}

/** Keys the playground made carry this option; the key list shows them like any other key. */
export const PLAYGROUND_OPTION = "playground";

/**
 * The user's playground key: created on first use (name "Playground", inference only), so a
 * playground answer is authorized, rate limited, billed and logged exactly like a key's request.
 */
async function playgroundKeyId(deps: AppDeps, p: Principal & { accountId: string }): Promise<string> {
  const find = async () =>
    (
      await deps.db
        .select({ id: apiKeys.id })
        .from(apiKeys)
        .where(
          and(
            eq(apiKeys.accountId, p.accountId),
            p.userId ? eq(apiKeys.userId, p.userId) : isNull(apiKeys.userId),
            isNull(apiKeys.revokedAt),
            sql`${apiKeys.options} ->> ${PLAYGROUND_OPTION} = 'true'`,
          ),
        )
        .limit(1)
    )[0]?.id;
  const existing = await find();
  if (existing) return existing;
  const k = await createApiKey(deps.db, { accountId: p.accountId, userId: p.userId, name: "Playground", scopes: ["inference"], options: { [PLAYGROUND_OPTION]: true } });
  return k.id;
}

/** For the inference routes: a session calls through its playground key. */
export function sessionPlaygroundAuthenticator(deps: AppDeps): AltAuthenticator {
  return async (c) => {
    if (!carriesSession(c)) return false;
    const p = await principalOf(deps, c);
    const r = await deps.keys.verifyKeyId(await playgroundKeyId(deps, p));
    if (!r.ok) throw new AppError(r.code, `The playground key is not usable: ${r.code} (enable or delete it on the API keys page)`);
    c.set("auth", r.auth);
    return true;
  };
}
