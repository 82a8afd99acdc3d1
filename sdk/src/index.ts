export { GatewayClient, type GatewayClientOptions, type BodyOf, type QueryOf, type ResponseOf } from "./client.js";
export { GatewayError, GatewayConnectionError, type ErrorBody } from "./errors.js";
export { ERROR_CODES, type GatewayErrorCode } from "./error-codes.js";
export { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
export type { components, paths } from "./schema.js";
