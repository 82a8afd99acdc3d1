import type { MiddlewareHandler } from "hono";
import { isAppError, type ErrorCode } from "../../core/errors.js";
import { logRefusal } from "../../proxy/request-log.js";
import type { Logger } from "../../core/logger.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { clientIp } from "./api-key-auth.js";

/** Refusals that happen before a request reaches an upstream, so no log row exists for them yet. */
const REFUSALS = new Set<ErrorCode>([
  "missing_api_key",
  "invalid_api_key",
  "key_revoked",
  "key_disabled",
  "key_expired",
  "account_blocked",
  "user_blocked",
  "ip_not_allowed",
  "forbidden",
  "insufficient_quota",
  "quota_exceeded",
  "rate_limit_exceeded",
  "model_not_allowed",
  "model_not_priced",
]);

/**
 * Requests refused by authentication, limits or balance leave a trail: a `failed` request-log row
 * (never billed: price 0) when the key's account is known, otherwise a warning log line with the
 * client address. The row's id is the request id and the writer upserts only over `pending` rows,
 * so a refusal the pipeline logged itself is not written twice.
 */
export function refusalTrail(deps: Pick<AppDeps, "logs">): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    leaveRefusalTrail(deps, c.error, {
      owner: c.get("auth") ?? c.get("refusedKey"),
      requestId: c.get("requestId"),
      path: c.req.path,
      startedAt: c.get("startedAt"),
      logger: c.get("logger"),
      ip: () => clientIp(c),
    });
  };
}

/** What the trail needs to know of a refused request (the middleware reads it from Hono's context, the inference front from its own). */
export interface RefusalFacts {
  owner: { keyId: string; accountId: string } | undefined;
  requestId: string;
  path: string;
  startedAt: number | undefined;
  logger: Logger | undefined;
  ip: () => string | null;
}

/** The row (or, with no known key, the warning line) for one refused request; anything but a refusal leaves none. */
export function leaveRefusalTrail(deps: Pick<AppDeps, "logs">, err: unknown, f: RefusalFacts): void {
  if (!isAppError(err) || !REFUSALS.has(err.code)) return;
  if (!f.owner) {
    f.logger?.warn({ requestId: f.requestId, code: err.code, ip: f.ip(), path: f.path }, "request refused (no known key)");
    return;
  }
  const refusedAt = Date.now();
  logRefusal(deps.logs, {
    requestId: f.requestId,
    accountId: f.owner.accountId,
    apiKeyId: f.owner.keyId,
    path: f.path,
    errorCode: err.code,
    startedAt: f.startedAt ?? refusedAt,
    refusedAt,
  });
}
