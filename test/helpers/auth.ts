import type { AuthContext } from "../../src/contracts/request.js";

/** An AuthContext as the key verifier would give it: inference scope, no limits; `over` sets the rest. */
export function testAuth(over: Partial<AuthContext> & Pick<AuthContext, "keyId" | "accountId">): AuthContext {
  return {
    userId: null,
    scopes: ["inference"],
    allowedModels: null,
    ipAllowlist: null,
    keyLimits: {},
    accountLimits: {},
    keyRateLimits: null,
    keyOptions: {},
    tariffId: null,
    tariffRateLimits: null,
    ...over,
  };
}
