import { Redis } from "ioredis";
import { IN_CI } from "./db.js";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

let redisAvailable: Promise<boolean> | undefined;
export function redisIsAvailable(): Promise<boolean> {
  redisAvailable ??= (async () => {
    const r = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1500, retryStrategy: () => null });
    try {
      await r.connect();
      return (await r.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  })();
  return redisAvailable;
}

/** Returns true when Redis suites should run; in CI a missing Redis throws instead of skipping. */
export async function requireRedis(title: string): Promise<boolean> {
  if (await redisIsAvailable()) return true;
  if (IN_CI) throw new Error(`Redis is not reachable at ${TEST_REDIS_URL}; CI must run the Redis suites`);
  console.log(`# SKIPPED redis suite "${title}": Redis not reachable at ${TEST_REDIS_URL}`);
  return false;
}
