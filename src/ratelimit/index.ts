export {
  createRateLimiter,
  type RateLimiter,
  type UsageFigure,
} from "./limiter.js";
export {
  formatResetDuration,
  parseOverrides,
  type LimitTriple,
  type RateLimitSettings,
} from "./limits.js";
