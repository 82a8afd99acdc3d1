export type { ProviderTarget, ProviderTimeouts, UpstreamRequest } from "./types.js";
export { buildUpstreamRequest, joinUrl, upstreamModelName, type BuildRequestInput } from "./openai-compatible.js";
export { addressPolicyFromEnv, toProviderTarget } from "./registry.js";
export { connectLookup, DEFAULT_ADDRESS_POLICY, literalHostProblem, type AddressPolicy } from "./base-url-guard.js";
