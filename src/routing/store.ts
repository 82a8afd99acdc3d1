import { secrets } from "../core/secret-scrubber.js";
import { count } from "drizzle-orm";
import type { ProviderConfig } from "../config/gateway-config.js";
import { ConfigError } from "../core/config-error.js";
import type { Db } from "../db/client.js";
import { encryptionCheck, modelRoutes, routingProviders, upstreamAccounts } from "../db/schema/index.js";
import { CHECK_CONTEXT, CHECK_PLAINTEXT, SecretBoxError, type SecretBox } from "./secret-box.js";

/** An upstream account ready for requests: key decrypted, in memory only. */
export interface LiveUpstreamAccount {
  id: string;
  providerId: string;
  name: string;
  apiKey: string;
  discountBp: number;
  weight: number;
  /** Known upstream balance (USD micros); ≤ 0 puts the account behind the others. */
  balanceMicros: bigint | null;
}

export interface RouteOverride {
  id: string;
  modelId: string;
  providerId: string;
  upstreamModel: string;
  priority: number;
  weight: number;
  enabled: boolean;
}

/** What the router reads on every request; replaced whole on reload, never mutated. */
export interface RoutingSnapshot {
  /** Admin-made providers, in the config file's shape. */
  providers: readonly ProviderConfig[];
  /** Enabled accounts with a usable key, per provider id. */
  accountsByProvider: ReadonlyMap<string, readonly LiveUpstreamAccount[]>;
  /** Runtime route rows per public model id. */
  routesByModel: ReadonlyMap<string, readonly RouteOverride[]>;
  /** Accounts whose key could not be opened (skipped, reported in /health). */
  brokenAccounts: readonly string[];
  loadedAt: number;
}

export const EMPTY_SNAPSHOT: RoutingSnapshot = {
  providers: [],
  accountsByProvider: new Map(),
  routesByModel: new Map(),
  brokenAccounts: [],
  loadedAt: 0,
};

const CHECK_ID = "upstream_keys";

/**
 * Start-up check that ENCRYPTION_KEY is the key the stored upstream keys were sealed with. The
 * first start with a key stores a sealed known value; later starts must open it. A mismatch (or
 * a missing key while sealed keys exist) stops start-up with a ConfigError instead of letting
 * the gateway send garbage keys upstream.
 */
export async function verifyEncryptionKey(db: Db, box: SecretBox | null): Promise<void> {
  const [row] = await db.select().from(encryptionCheck).limit(1);
  if (!box) {
    const [n] = await db.select({ n: count() }).from(upstreamAccounts);
    if (row || (n?.n ?? 0) > 0) {
      throw new ConfigError(
        `ENCRYPTION_KEY is not set, but the database holds ${n?.n ?? 0} encrypted upstream key(s)` +
          (row ? ` sealed under key id ${row.keyId}` : "") +
          ". Set ENCRYPTION_KEY to the key they were encrypted with.",
      );
    }
    return;
  }
  if (!row) {
    await db
      .insert(encryptionCheck)
      .values({ id: CHECK_ID, keyId: box.keyId, value: box.seal(CHECK_PLAINTEXT, CHECK_CONTEXT) })
      .onConflictDoNothing();
    // Another process may have won the insert with a different key: verify whatever is stored.
    return verifyStored(db, box);
  }
  return verifyStored(db, box);
}

async function verifyStored(db: Db, box: SecretBox): Promise<void> {
  const [row] = await db.select().from(encryptionCheck).limit(1);
  if (!row) throw new ConfigError("encryption check row vanished during start-up");
  let plain: string;
  try {
    plain = box.open(row.value, CHECK_CONTEXT);
  } catch (e) {
    throw new ConfigError(
      `ENCRYPTION_KEY does not match the key the stored upstream keys were encrypted with ` +
        `(stored key id ${row.keyId}, configured key id ${box.keyId}: ${(e as Error).message}). ` +
        `Start with the original ENCRYPTION_KEY; the gateway will not send undecryptable keys upstream.`,
    );
  }
  if (plain !== CHECK_PLAINTEXT) throw new ConfigError("ENCRYPTION_KEY check value is corrupt");
}

/** Reads the routing tables and opens the keys; one call = one consistent snapshot. */
export async function loadRoutingSnapshot(db: Db, box: SecretBox | null, now: number): Promise<RoutingSnapshot> {
  const [provRows, acctRows, routeRows] = await Promise.all([
    db.select().from(routingProviders),
    db.select().from(upstreamAccounts),
    db.select().from(modelRoutes),
  ]);
  const providers: ProviderConfig[] = provRows.map((p) => ({
    id: p.id,
    type: p.type,
    base_url: p.baseUrl ?? undefined,
    api_key: undefined,
    model_prefix: p.modelPrefix,
    headers: p.headers,
    timeouts: p.timeouts,
    enabled: p.enabled,
  }));
  const accountsByProvider = new Map<string, LiveUpstreamAccount[]>();
  const broken: string[] = [];
  for (const a of acctRows) {
    if (!a.enabled) continue;
    if (!box) {
      broken.push(a.id);
      continue;
    }
    let apiKey: string;
    try {
      apiKey = box.open(a.apiKeyEncrypted, accountKeyContext(a.id));
      secrets.add(apiKey);
    } catch (e) {
      if (!(e instanceof SecretBoxError)) throw e;
      broken.push(a.id);
      continue;
    }
    let list = accountsByProvider.get(a.providerId);
    if (!list) accountsByProvider.set(a.providerId, (list = []));
    list.push({
      id: a.id,
      providerId: a.providerId,
      name: a.name,
      apiKey,
      discountBp: a.discountBp,
      weight: a.weight,
      balanceMicros: a.balanceMicros,
    });
  }
  for (const list of accountsByProvider.values()) list.sort((x, y) => (x.id < y.id ? -1 : 1));
  const routesByModel = new Map<string, RouteOverride[]>();
  for (const r of routeRows) {
    let list = routesByModel.get(r.modelId);
    if (!list) routesByModel.set(r.modelId, (list = []));
    list.push({
      id: r.id,
      modelId: r.modelId,
      providerId: r.providerId,
      upstreamModel: r.upstreamModel,
      priority: r.priority,
      weight: r.weight,
      enabled: r.enabled,
    });
  }
  return { providers, accountsByProvider, routesByModel, brokenAccounts: broken, loadedAt: now };
}

/** AAD of an account's sealed key: a ciphertext copied to another row will not open. */
export function accountKeyContext(accountId: string): string {
  return `upstream_account:${accountId}`;
}
