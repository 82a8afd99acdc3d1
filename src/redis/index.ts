export { adoptRedis, createRedis, isConnectivityError, maskRedisUrl, type RedisClientOptions, type RedisHandle, type RedisHealth } from "./client.js";
