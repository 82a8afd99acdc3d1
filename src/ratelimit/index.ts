export {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimiterStats,
  type RateLimitHealth,
  type RateLimitSnapshot,
  type RateLimitStorage,
  type UsageFigure,
} from "./limiter.js";
export {
  formatResetDuration,
  parseOverrides,
  type LimitTriple,
  type RateLimitOverrides,
  type RateLimitSettings,
} from "./limits.js";
export type { Check, LimitKind, LimitScope, LimitStore } from "./types.js";
