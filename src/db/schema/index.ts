export * from "./accounts.js";
export * from "./api-keys.js";
export * from "./request-logs.js";
export * from "./ledger.js";
export * from "./audit.js";
export * from "./auth.js";
export * from "./payments.js";
export * from "./routing.js";
