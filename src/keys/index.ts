export { createApiKey, type CreateKeyInput } from "./create.js";
export { generateApiKey, hashApiKey, looksLikeApiKey, maskKey, KEY_PREFIX } from "./hash.js";
export { KeyVerifier } from "./verify.js";
export { keyInvalidationBus, type KeyInvalidationFilter } from "./invalidation.js";
