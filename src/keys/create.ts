import { newId } from "../core/ids.js";
import type { DbOrTx } from "../db/client.js";
import { apiKeys } from "../db/schema/index.js";
import { generateApiKey } from "./hash.js";

export interface CreateKeyInput {
  accountId: string;
  name?: string;
  userId?: string | null;
  scopes?: string[];
  allowedModels?: string[] | null;
  ipAllowlist?: string[] | null;
  limits?: Record<string, unknown>;
  rateLimits?: Record<string, unknown> | null;
  options?: Record<string, unknown>;
  expiresAt?: Date | null;
}

export interface CreatedKey {
  id: string;
  /** The secret: returned once, never stored. */
  key: string;
  start: string;
  accountId: string;
  name: string;
  createdAt: Date;
}

export async function createApiKey(db: DbOrTx, input: CreateKeyInput): Promise<CreatedKey> {
  const g = generateApiKey();
  const id = newId("key");
  const [row] = await db
    .insert(apiKeys)
    .values({
      id,
      accountId: input.accountId,
      userId: input.userId ?? null,
      name: input.name ?? "",
      keyHash: g.hash,
      start: g.start,
      scopes: input.scopes ?? ["inference"],
      allowedModels: input.allowedModels ?? null,
      ipAllowlist: input.ipAllowlist ?? null,
      limits: input.limits ?? {},
      rateLimits: input.rateLimits ?? null,
      options: input.options ?? {},
      expiresAt: input.expiresAt ?? null,
    })
    .returning({ createdAt: apiKeys.createdAt, name: apiKeys.name });
  return { id, key: g.secret, start: g.start, accountId: input.accountId, name: row!.name, createdAt: row!.createdAt };
}
