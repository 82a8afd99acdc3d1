export type { ProviderTarget, ProviderTimeouts, UpstreamRequest } from "./types.js";
export type { BuildRequestInput, InferenceEndpoint, OpeningEvent, ProviderAdapter, SseEvent, StreamTranslator } from "./adapter.js";
export { adapterFor, buildUpstreamRequest, joinUrl, upstreamModelName } from "./openai-compatible.js";
export { estimatedUsage, parseUsage, usageOf } from "./usage.js";
export { toProviderTarget, type ProviderSettings } from "./registry.js";
export { connectLookup, DEFAULT_ADDRESS_POLICY, literalHostProblem, type AddressPolicy } from "./base-url-guard.js";
