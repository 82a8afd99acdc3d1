import type { MiddlewareHandler } from "hono";
import { isAppError, type ErrorCode } from "../../core/errors.js";
import { logRefusal } from "../../proxy/request-log.js";
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
    const err = c.error;
    if (!isAppError(err) || !REFUSALS.has(err.code)) return;
    const owner = c.get("auth") ?? c.get("refusedKey");
    const requestId = c.get("requestId");
    if (!owner) {
      c.get("logger")?.warn({ requestId, code: err.code, ip: clientIp(c), path: c.req.path }, "request refused (no known key)");
      return;
    }
    const refusedAt = Date.now();
    logRefusal(deps.logs, {
      requestId,
      accountId: owner.accountId,
      apiKeyId: owner.keyId,
      path: c.req.path,
      errorCode: err.code,
      startedAt: c.get("startedAt") ?? refusedAt,
      refusedAt,
    });
  };
}
