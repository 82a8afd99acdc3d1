export type { ProviderTarget, ProviderTimeouts, UpstreamRequest } from "./types.js";
export type { BuildRequestInput, ProviderAdapter, SseEvent, StreamTranslator } from "./adapter.js";
export { adapterFor, buildUpstreamRequest } from "./adapters/index.js";
export { joinUrl, upstreamModelName } from "./url.js";
export { estimatedUsage, parseUsage, usageOf } from "./usage.js";
export { toProviderTarget, type ProviderSettings } from "./registry.js";
export { connectLookup, DEFAULT_ADDRESS_POLICY, literalHostProblem, type AddressPolicy } from "./base-url-guard.js";
export { buildResponsesRequest, responsesNative, responsesOpening } from "./responses-api.js";
