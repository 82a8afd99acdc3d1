import { eq, ne } from "drizzle-orm";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { secrets } from "../core/secret-scrubber.js";
import type { Db } from "../db/client.js";
import { accounts, upstreamCustomerKeys } from "../db/schema/index.js";
import type { AccountUpstreamKeys } from "../routing/attempt.js";
import type { SecretBox } from "../routing/secret-box.js";
import { keyLimitUsdMicros, limitDrifted, microsToUsd, usdToMicros } from "./key-limit.js";
import { KEYS_PAGE_SIZE, type OpenRouterKeyInfo, type OpenRouterKeysApi } from "./openrouter-keys-api.js";

type KeysApi = Pick<OpenRouterKeysApi, "create" | "get" | "list" | "update" | "remove">;
type KeyRow = typeof upstreamCustomerKeys.$inferSelect;

export interface CustomerKeySettings {
  /** How long a looked-up key is served from memory. */
  cacheTtlMs: number;
  /** After a failed creation, requests use the provider's key for this long before the next try. */
  retryAfterMs: number;
  /** Most accounts kept in the memory cache. */
  cacheEntries: number;
}

export interface CustomerKeysDeps {
  db: Db;
  api: KeysApi;
  box: SecretBox;
  /** Account-currency micros per 1 USD (billing's current FX rate). */
  usdRate: () => Promise<bigint>;
  settings: CustomerKeySettings;
  clock: Clock;
  logger: Logger;
}

export interface KeySyncRun {
  checked: number;
  updated: number;
  /** Rows whose key no longer exists upstream (a new one is made on the account's next request). */
  gone: number;
  failed: number;
}

/**
 * The keys OpenRouter makes (`sk-or-v1-<hex>`): scrubbed from logs and error bodies by shape, since
 * registering every customer's key by value would cost one comparison per key on every log line.
 */
const CUSTOMER_KEY_SHAPE = /sk-or-v1-[A-Za-z0-9]{16,}/g;
/** A key of another shape (OpenRouter changed its format) is registered by value after all. */
const fence = (key: string) => {
  if (!/^sk-or-v1-[A-Za-z0-9]{16,}$/.test(key)) secrets.add(key);
  return key;
};

/** AAD of a sealed customer key: the ciphertext is bound to its account's row. */
export const customerKeyContext = (accountId: string) => `upstream_customer_key:${accountId}`;

/** The name an account's key carries at OpenRouter (no personal data: the account id only). */
export const customerKeyName = (accountId: string) => `llm-gateway ${accountId}`;

/**
 * A dedicated OpenRouter key per account, made with the provisioning key on the account's first
 * OpenRouter request ("first use"), sealed in `upstream_customer_keys`, and served from
 * memory afterwards: the request path does one Map lookup. Its OpenRouter credit limit follows the
 * account's balance (after a top-up, and in a periodic batch), and it is disabled while the account
 * is blocked. When OpenRouter's key API fails, requests go out with the provider's own key (logged)
 * and creation is tried again later: an outage of the key API never stops traffic.
 */
export class CustomerKeys implements AccountUpstreamKeys {
  private readonly cache = new Map<string, { key: string | null; until: number }>();
  private readonly loading = new Map<string, Promise<string | null>>();
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(private readonly d: CustomerKeysDeps) {
    secrets.addPattern(CUSTOMER_KEY_SHAPE);
  }

  /** The account's key (null: use the provider's). Synchronous while cached. */
  keyFor(accountId: string): string | null | Promise<string | null> {
    const c = this.cache.get(accountId);
    if (c && c.until > this.d.clock.now()) return c.key;
    let p = this.loading.get(accountId);
    if (!p) {
      p = this.load(accountId).finally(() => this.loading.delete(accountId));
      this.loading.set(accountId, p);
    }
    return p;
  }

  /** After a top-up or adjustment: the account's limit is brought up to date shortly, in a batch. */
  noteBalanceChange(accountId: string): void {
    this.dirty.add(accountId);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flushDirty();
    }, 1_000);
    this.flushTimer.unref();
  }

  /** Limits of the accounts noted since the last flush (one GET and at most one PATCH each). */
  async flushDirty(): Promise<void> {
    if (this.flushing) await this.flushing;
    const ids = [...this.dirty];
    this.dirty.clear();
    if (!ids.length) return;
    this.flushing = (async () => {
      const rate = await this.d.usdRate();
      for (const id of ids) {
        const row = await this.row(id);
        if (!row || row.status === "deleted") continue;
        try {
          const info = await this.d.api.get(row.upstreamHash);
          await this.reconcile(row, info, rate);
        } catch (e) {
          this.d.logger.warn({ accountId: id, err: (e as Error).message }, "upstream customer key: limit not updated (the periodic sync retries)");
        }
      }
    })().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  /** Blocking disables the account's key upstream; unblocking enables it again (with a fresh limit). */
  async accountStatusChanged(accountId: string): Promise<void> {
    this.cache.delete(accountId);
    const row = await this.row(accountId);
    if (!row || row.status === "deleted") return;
    try {
      const info = await this.d.api.get(row.upstreamHash);
      await this.reconcile(row, info, await this.d.usdRate());
    } catch (e) {
      this.d.logger.warn({ accountId, err: (e as Error).message }, "upstream customer key: status not updated (the periodic sync retries)");
    }
  }

  /**
   * Every key against OpenRouter's list (paged): limits that drifted from the balances are set,
   * keys of blocked accounts disabled and of active ones enabled, keys deleted upstream forgotten.
   */
  async syncAll(): Promise<KeySyncRun> {
    const run: KeySyncRun = { checked: 0, updated: 0, gone: 0, failed: 0 };
    const rows = await this.d.db.select().from(upstreamCustomerKeys).where(ne(upstreamCustomerKeys.status, "deleted"));
    if (!rows.length) return run;
    const upstream = new Map<string, OpenRouterKeyInfo>();
    for (let offset = 0; ; offset += KEYS_PAGE_SIZE) {
      const page = await this.d.api.list(offset);
      for (const k of page) upstream.set(k.hash, k);
      if (page.length < KEYS_PAGE_SIZE || offset > 1_000_000) break;
    }
    const rate = await this.d.usdRate();
    for (const row of rows) {
      run.checked++;
      const info = upstream.get(row.upstreamHash);
      try {
        if (!info) {
          await this.d.db.update(upstreamCustomerKeys).set({ status: "deleted", updatedAt: new Date(this.d.clock.now()) }).where(eq(upstreamCustomerKeys.accountId, row.accountId));
          this.cache.delete(row.accountId);
          run.gone++;
          continue;
        }
        if (await this.reconcile(row, info, rate)) run.updated++;
      } catch (e) {
        run.failed++;
        this.d.logger.warn({ accountId: row.accountId, err: (e as Error).message }, "upstream customer key: sync failed");
      }
    }
    return run;
  }

  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Brings one key in line with its account: enabled iff active, limit = usage + balance. True when it changed. */
  private async reconcile(row: KeyRow, info: OpenRouterKeyInfo, rate: bigint): Promise<boolean> {
    const [acct] = await this.d.db.select({ status: accounts.status, balance: accounts.balanceMicros }).from(accounts).where(eq(accounts.id, row.accountId));
    if (!acct) return false;
    const disabled = acct.status !== "active";
    const usage = usdToMicros(info.usage);
    const wanted = keyLimitUsdMicros(usage, acct.balance, rate);
    const patch: { limitUsd?: number; disabled?: boolean } = {};
    if (info.disabled !== disabled) patch.disabled = disabled;
    const current = info.limit === null || info.limit === undefined ? null : usdToMicros(info.limit);
    if (!disabled && limitDrifted(current, wanted, usage)) patch.limitUsd = microsToUsd(wanted);
    const status = disabled ? "disabled" : "active";
    if (patch.disabled === undefined && patch.limitUsd === undefined) {
      if (row.status !== status) await this.saveState(row.accountId, { status });
      return false;
    }
    await this.d.api.update(row.upstreamHash, patch);
    await this.saveState(row.accountId, { status, ...(patch.limitUsd !== undefined ? { limitUsdMicros: wanted } : {}) });
    if (disabled) this.cache.delete(row.accountId);
    return true;
  }

  private async saveState(accountId: string, set: { status: KeyRow["status"]; limitUsdMicros?: bigint }): Promise<void> {
    await this.d.db
      .update(upstreamCustomerKeys)
      .set({ ...set, updatedAt: new Date(this.d.clock.now()) })
      .where(eq(upstreamCustomerKeys.accountId, accountId));
  }

  private async row(accountId: string): Promise<KeyRow | null> {
    const [r] = await this.d.db.select().from(upstreamCustomerKeys).where(eq(upstreamCustomerKeys.accountId, accountId));
    return r ?? null;
  }

  private remember(accountId: string, key: string | null, ttlMs: number): string | null {
    if (this.cache.size >= this.d.settings.cacheEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(accountId, { key, until: this.d.clock.now() + ttlMs });
    return key;
  }

  private async load(accountId: string): Promise<string | null> {
    const s = this.d.settings;
    try {
      const row = await this.row(accountId);
      if (row && row.status !== "deleted") {
        const key = fence(this.d.box.open(row.secretEnc, customerKeyContext(accountId)));
        // A key left disabled (an unblock whose enable call failed): the account is serving a request, so it is active.
        if (row.status === "disabled") await this.accountStatusChanged(accountId);
        return this.remember(accountId, key, s.cacheTtlMs);
      }
      return this.remember(accountId, await this.create(accountId, row), s.cacheTtlMs);
    } catch (e) {
      this.d.logger.warn({ accountId, err: (e as Error).message }, "upstream customer key unavailable: using the provider's key for now");
      return this.remember(accountId, null, s.retryAfterMs);
    }
  }

  /**
   * Creates the key upstream, then stores it. Two processes may race: the row's primary key lets one
   * win, and the loser deletes the key it made. A key whose row could not be written is deleted too,
   * so no key is left at OpenRouter that the gateway does not know of.
   */
  private async create(accountId: string, previous: KeyRow | null): Promise<string> {
    const [acct] = await this.d.db.select({ balance: accounts.balanceMicros }).from(accounts).where(eq(accounts.id, accountId));
    const limit = keyLimitUsdMicros(0n, acct?.balance ?? 0n, await this.d.usdRate());
    const made = await this.d.api.create({ name: customerKeyName(accountId), limitUsd: microsToUsd(limit) });
    fence(made.key);
    let stored: { accountId: string }[];
    try {
      const values = {
        accountId,
        provider: "openrouter",
        upstreamHash: made.info.hash,
        secretEnc: this.d.box.seal(made.key, customerKeyContext(accountId)),
        limitUsdMicros: limit,
        status: "active" as const,
        updatedAt: new Date(this.d.clock.now()),
      };
      stored = await this.d.db
        .insert(upstreamCustomerKeys)
        .values(values)
        .onConflictDoUpdate({ target: upstreamCustomerKeys.accountId, set: values, setWhere: eq(upstreamCustomerKeys.status, "deleted") })
        .returning({ accountId: upstreamCustomerKeys.accountId });
    } catch (e) {
      await this.d.api.remove(made.info.hash).catch(() => undefined);
      throw e;
    }
    if (!stored.length) {
      // Another process stored a key first: keep theirs.
      await this.d.api.remove(made.info.hash).catch(() => undefined);
      const row = await this.row(accountId);
      if (!row) throw new Error("customer key row vanished");
      return fence(this.d.box.open(row.secretEnc, customerKeyContext(accountId)));
    }
    this.d.logger.info({ accountId, replaced: previous?.upstreamHash ?? null }, "upstream customer key created");
    return made.key;
  }
}
