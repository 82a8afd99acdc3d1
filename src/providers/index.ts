export type { ProviderTarget, ProviderTimeouts, UpstreamRequest } from "./types.js";
export { buildUpstreamRequest, joinUrl, upstreamModelName, type BuildRequestInput } from "./openai-compatible.js";
export { toProviderTarget } from "./registry.js";
