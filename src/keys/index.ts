export { createApiKey, type CreateKeyInput, type CreatedKey } from "./create.js";
export { generateApiKey, hashApiKey, looksLikeApiKey, maskKey, KEY_PREFIX } from "./hash.js";
export { KeyVerifier, type KeyVerifierOptions, type VerifyFailure, type VerifyResult } from "./verify.js";
export { keyInvalidationBus, type KeyInvalidationFilter } from "./invalidation.js";
