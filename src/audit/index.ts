import { newId } from "../core/ids.js";
import type { DbOrTx } from "../db/client.js";
import { auditLog } from "../db/schema/index.js";

export interface AuditEntry {
  actor: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
  ip?: string | null;
}

/** bigint is not JSON; audit snapshots keep money as decimal-free integer strings. */
function jsonSafe(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));
}

/** Write one audit row; call it inside the same transaction as the change it records. */
export async function writeAudit(tx: DbOrTx, e: AuditEntry): Promise<string> {
  const id = newId("audit");
  await tx.insert(auditLog).values({
    id,
    actor: e.actor,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId ?? null,
    before: jsonSafe(e.before),
    after: jsonSafe(e.after),
    ip: e.ip ?? null,
  });
  return id;
}
