import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { systemClock, type Clock } from "../core/clock.js";
import { redisKeys, type RedisKeys } from "../redis/keys.js";

/**
 * Opt-in exact-match response cache for non-streaming requests. The key is a hash of endpoint,
 * canonical request body and the caller's account, so two accounts never share an entry (a
 * response can carry what one account's prompt revealed). Streamed requests are never served
 * from it.
 */
export interface CachedResponse {
  status: number;
  /** The response body exactly as first sent to the client. */
  body: string;
  contentType: string;
  /** Usage of the original response, for billing the hit at the configured fraction. */
  usage: { promptTokens: number; completionTokens: number; totalTokens: number; cachedTokens?: number; reasoningTokens?: number } | null;
  providerId: string;
  upstreamModel: string;
  storedAt: number;
}

export interface ResponseCacheStore {
  readonly kind: "memory" | "redis";
  get(key: string): Promise<CachedResponse | null>;
  /** Silently skips values over the entry-size bound. Never throws. */
  set(key: string, value: CachedResponse): Promise<void>;
}

export interface ResponseCacheLimits {
  ttlMs: number;
  /** Memory store: most entries kept. */
  maxEntries: number;
  /** Memory store: most bytes of bodies kept. */
  maxBytes: number;
  /** Either store: larger responses are not cached. */
  maxEntryBytes: number;
}

export const DEFAULT_CACHE_LIMITS: ResponseCacheLimits = {
  ttlMs: 300_000,
  maxEntries: 1000,
  maxBytes: 64 * 1024 * 1024,
  maxEntryBytes: 1024 * 1024,
};

/** JSON with object keys sorted at every level, so key order in the request does not split the cache. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : canonicalJson(x))).join(",")}]`;
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(o[k])}`);
  }
  return `{${parts.join(",")}}`;
}

export function responseCacheKey(endpoint: string, body: unknown, accountId: string): string {
  return createHash("sha256").update(endpoint).update("\0").update(accountId).update("\0").update(canonicalJson(body)).digest("base64url");
}

export type CacheDecision = { use: true; reason: "header" | "key_option" } | { use: false; reason: string };

const CACHEABLE = new Set(["chat.completions", "completions", "embeddings"]);

/**
 * Whether this request may be answered from (and stored in) the cache:
 * - never for streamed requests or other endpoints;
 * - `x-gateway-cache: true` opts in explicitly (any temperature); `false` opts out;
 * - the key option `options.cache: true` opts in for deterministic requests only: temperature 0
 *   (embeddings are deterministic and always qualify).
 */
export function cacheDecision(input: {
  endpoint: string;
  body: Record<string, unknown>;
  header: string | null | undefined;
  keyOptions: Record<string, unknown> | null | undefined;
}): CacheDecision {
  if (!CACHEABLE.has(input.endpoint)) return { use: false, reason: "endpoint" };
  if (input.body.stream === true) return { use: false, reason: "stream" };
  const h = input.header?.trim().toLowerCase();
  if (h === "false" || h === "0" || h === "no") return { use: false, reason: "header_off" };
  if (h === "true" || h === "1" || h === "yes") return { use: true, reason: "header" };
  if (input.keyOptions?.cache === true) {
    if (input.endpoint === "embeddings" || input.body.temperature === 0) return { use: true, reason: "key_option" };
    return { use: false, reason: "temperature" };
  }
  return { use: false, reason: "not_requested" };
}

function entrySize(v: CachedResponse): number {
  return Buffer.byteLength(v.body) + 256;
}

/** In-process LRU bounded by entries and bytes, with a TTL per entry. */
export class MemoryResponseCache implements ResponseCacheStore {
  readonly kind = "memory" as const;
  private readonly map = new Map<string, { v: CachedResponse; exp: number; size: number }>();
  private bytes = 0;
  constructor(
    readonly limits: ResponseCacheLimits = DEFAULT_CACHE_LIMITS,
    private readonly clock: Clock = systemClock,
  ) {}

  get size(): number {
    return this.map.size;
  }
  get totalBytes(): number {
    return this.bytes;
  }

  get(key: string): Promise<CachedResponse | null> {
    const e = this.map.get(key);
    if (!e) return Promise.resolve(null);
    if (this.clock.now() >= e.exp) {
      this.delete(key);
      return Promise.resolve(null);
    }
    this.map.delete(key);
    this.map.set(key, e);
    return Promise.resolve(e.v);
  }

  set(key: string, v: CachedResponse): Promise<void> {
    const size = entrySize(v);
    if (size > this.limits.maxEntryBytes || size > this.limits.maxBytes) return Promise.resolve();
    this.delete(key);
    this.map.set(key, { v, exp: this.clock.now() + this.limits.ttlMs, size });
    this.bytes += size;
    while (this.map.size > this.limits.maxEntries || this.bytes > this.limits.maxBytes) {
      const oldest = this.map.keys().next().value as string;
      this.delete(oldest);
    }
    return Promise.resolve();
  }

  private delete(key: string) {
    const e = this.map.get(key);
    if (!e) return;
    this.bytes -= e.size;
    this.map.delete(key);
  }
}

/**
 * Shared cache in Redis (SET … PX ttl). Total size is bounded by the per-entry limit and the TTL
 * (and Redis' own maxmemory policy); a Redis error is a miss, never a failed request.
 */
export class RedisResponseCache implements ResponseCacheStore {
  readonly kind = "redis" as const;
  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly limits: ResponseCacheLimits = DEFAULT_CACHE_LIMITS,
    private readonly hooks: { isUp?: () => boolean; onError?: (e: unknown) => void } = {},
  ) {
    this.keys = redisKeys(prefix);
  }

  private readonly keys: RedisKeys;

  async get(key: string): Promise<CachedResponse | null> {
    if (this.hooks.isUp && !this.hooks.isUp()) return null;
    try {
      const raw = await this.redis.get(this.keys.responseCache(key));
      return raw ? (JSON.parse(raw) as CachedResponse) : null;
    } catch (e) {
      this.hooks.onError?.(e);
      return null;
    }
  }

  async set(key: string, v: CachedResponse): Promise<void> {
    if (entrySize(v) > this.limits.maxEntryBytes) return;
    if (this.hooks.isUp && !this.hooks.isUp()) return;
    try {
      await this.redis.set(this.keys.responseCache(key), JSON.stringify(v), "PX", this.limits.ttlMs);
    } catch (e) {
      this.hooks.onError?.(e);
    }
  }
}

/** A cache hit's charge as a fraction of the full price, in basis points (0 = free, 10000 = full). */
export function scaleByBp(micros: bigint, bp: number): bigint {
  if (bp <= 0) return 0n;
  if (bp >= 10_000) return micros;
  // Round up: never under-charge by truncation.
  return (micros * BigInt(bp) + 9_999n) / 10_000n;
}
