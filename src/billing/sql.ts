/**
 * The names of the hold/settle/release plpgsql functions holds.ts calls: each is ONE database
 * round-trip and runs atomically (a function call is one statement). Their bodies are a drizzle
 * migration (drizzle/0005_billing_functions.sql), so a migrated database has them and start-up
 * creates nothing.
 *
 * Lock order, everywhere: the account row first, then the hold row, then the request's
 * usage_counters rows sorted by id (every counter belongs to one account). Batches carry items
 * sorted by account id, so two batches take accounts in the same order. postLedgerEntry locks only
 * the account row. No cycle can form.
 *
 * The `_vN` suffix is the contract version: a changed body is a new migration creating the function
 * under a new suffix (and the name changes here), so processes of two versions never call each
 * other's function.
 */
export const FN_RESERVE = "gw_billing_reserve_v2";
export const FN_RESERVE_BATCH = "gw_billing_reserve_batch_v2";
export const FN_SETTLE = "gw_billing_settle_v2";
export const FN_SETTLE_BATCH = "gw_billing_settle_batch_v2";
export const FN_RELEASE = "gw_billing_release_v2";
/** Applies a batch of journaled balance-lease charges (drizzle/0008_lease_apply_batched.sql; v1 in 0007, lease-store.ts). */
export const FN_LEASE_APPLY = "gw_lease_apply_v2";
