import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../core/logger.js";

export type KeyInvalidationFilter = { keyId?: string; accountId?: string } | undefined;

/**
 * Pushes "drop these cached key verdicts" to every gateway process, so a revoked key, a disabled
 * key or a blocked account stops working everywhere at once instead of after the cache TTL. With
 * Redis it is one pub/sub channel (a dedicated subscriber connection); without Redis there is one
 * process per database, and the local invalidation is all there is. A lost message (Redis down)
 * still expires within the TTL.
 */
export interface KeyInvalidationBus {
  /** Invalidate here and tell the other processes. */
  publish(filter: KeyInvalidationFilter): void;
  close(): Promise<void>;
}

export function keyInvalidationBus(opts: { redis: Redis | null; channel: string; apply: (filter: KeyInvalidationFilter) => void; logger?: Logger }): KeyInvalidationBus {
  const { redis, channel, apply } = opts;
  if (!redis) return { publish: (f) => apply(f), close: async () => undefined };
  const self = randomUUID();
  const sub = redis.duplicate({ lazyConnect: false, maxRetriesPerRequest: null });
  sub.on("error", () => undefined);
  void sub.subscribe(channel).catch((e: Error) => opts.logger?.warn({ err: e.message }, "key invalidation: subscribe failed (verdicts expire within the cache TTL)"));
  sub.on("message", (ch: string, text: string) => {
    if (ch !== channel) return;
    try {
      const m = JSON.parse(text) as { from?: string; filter?: KeyInvalidationFilter };
      if (m.from !== self) apply(m.filter && (m.filter.keyId || m.filter.accountId) ? m.filter : undefined);
    } catch {
      /* not ours */
    }
  });
  return {
    publish(filter) {
      apply(filter);
      redis.publish(channel, JSON.stringify({ from: self, filter })).catch(() => undefined);
    },
    async close() {
      sub.disconnect();
    },
  };
}
