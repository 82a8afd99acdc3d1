import { randomBase62 } from "../core/ids.js";
import type { DbOrTx } from "../db/client.js";
import { paymentAnomalies } from "../db/schema/index.js";

/** Records a payment we could not handle automatically; one row per (provider, ref, reason). */
export async function recordAnomaly(
  tx: DbOrTx,
  a: { provider: string; ref: string; reason: string; details?: Record<string, unknown> },
): Promise<void> {
  await tx
    .insert(paymentAnomalies)
    .values({
      id: `pan_${randomBase62(20)}`,
      provider: a.provider,
      ref: a.ref,
      reason: a.reason,
      details: a.details ? jsonSafe(a.details) : null,
    })
    .onConflictDoNothing();
}

function jsonSafe(v: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));
}
