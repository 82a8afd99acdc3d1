export { adoptRedis, createRedis, isConnectivityError, maskRedisUrl, type RedisClientOptions, type RedisHandle, type RedisHealth } from "./client.js";
export { DEFAULT_REDIS_KEY_PREFIX, redisKeys, type RedisKeys } from "./keys.js";
