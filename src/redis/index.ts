export { adoptRedis, createRedis, type RedisClientOptions, type RedisHandle, type RedisHealth } from "./client.js";
export type { RedisKeys } from "./keys.js";
