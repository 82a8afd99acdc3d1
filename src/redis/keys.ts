/**
 * Every Redis key the gateway writes, in one place. All of them start with one prefix
 * (REDIS_KEY_PREFIX) so several gateways, or tests, can share a Redis without colliding.
 */
export const DEFAULT_REDIS_KEY_PREFIX = "llmgw:";

export interface RedisKeys {
  /**
   * Base of the rate-limit counters and leases; the `{rl}` hash tag keeps every key of one script
   * call in one Redis Cluster slot. The limiter appends the check's key (`key:<id>:rpm`, …).
   */
  readonly rateLimitBase: string;
  /** One hash per circuit breaker (`prv:<provider>` / `ua:<upstream account>`), hash-tagged by breaker. */
  circuitBreaker(breakerKey: string): string;
  /** One string per cached response (SET … PX ttl). */
  responseCache(cacheKey: string): string;
}

export function redisKeys(prefix: string = DEFAULT_REDIS_KEY_PREFIX): RedisKeys {
  return {
    rateLimitBase: `${prefix}{rl}:`,
    circuitBreaker: (breakerKey) => `${prefix}cb:{${breakerKey}}`,
    responseCache: (cacheKey) => `${prefix}rc:${cacheKey}`,
  };
}
