export { adoptRedis, createRedis, type RedisHandle } from "./client.js";
