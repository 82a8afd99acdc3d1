import { eq, like } from "drizzle-orm";
import { updateUser } from "../../accounts/admin.js";
import { platformStats } from "../../accounts/admin-stats.js";
import { getKey, issueKey, keyUsageStats, listKeys, revokeKey, updateKey, type KeyView } from "../../accounts/api-keys.js";
import { createBackup, restoreBackup, RestoreError } from "../../accounts/backup.js";
import { createAccount, createUser } from "../../accounts/users.js";
import { writeAudit } from "../../audit/index.js";
import { adjustBalance } from "../../billing/admin.js";
import { syncPrices } from "../../billing/catalog-sync.js";
import { postLedgerEntry } from "../../billing/ledger.js";
import type { Env } from "../../config/env.js";
import { AppError } from "../../core/errors.js";
import { formatMoney, parseMoney } from "../../core/money.js";
import type { Db } from "../../db/client.js";
import { accounts, apiKeys } from "../../db/schema/index.js";
import { hashApiKey, KEY_PREFIX, maskKey } from "../../keys/index.js";
import { catalogSyncSettings } from "../settings.js";
import { CliError, type AdminOps, type KeyUsage, type UserOut } from "./ops.js";

const SCOPE = { accountId: null, actor: "cli" } as const;

/** AdminOps on the gateway's own database (opened and migrated on first use). */
export function localOps(env: Env, db: () => Promise<Db>, opts: { withoutRequestLogs?: boolean } = {}): AdminOps {
  const currency = env.BILLING_CURRENCY;
  const keyOut = (id: string, start: string, status: string, limits: Record<string, unknown>) => ({ id, key: maskKey(start), status, limits });
  return {
    where: "local",
    async migrate() {
      await db();
    },

    async createAccount(input) {
      const d = await db();
      const out = await d.transaction(async (tx) => {
        const a = await createAccount(tx, { name: input.name, tariffId: input.tariffId ?? null });
        const opening = input.balance ? parseMoney(input.balance) : 0n;
        if (opening > 0n) await postLedgerEntry(tx, { accountId: a.id, kind: "adjustment", amountMicros: opening, ref: `open:${a.id}`, reason: "opening balance", actor: "cli" });
        const u = input.user ? await createUser(tx, { accountId: a.id, email: input.user.email, password: input.user.password ?? null, role: input.user.role }) : null;
        await writeAudit(tx, { actor: "cli", action: "account.create", targetType: "account", targetId: a.id, after: { name: input.name, balance: input.balance ?? "0" } });
        if (u) await writeAudit(tx, { actor: "cli", action: "user.create", targetType: "user", targetId: u.id, after: { account_id: a.id, email: u.email, role: u.role } });
        const [fresh] = await tx.select().from(accounts).where(eq(accounts.id, a.id));
        return { account: fresh!, user: u };
      });
      return {
        account: { id: out.account.id, name: out.account.name, balance: formatMoney(out.account.balanceMicros), currency },
        user: out.user ? { id: out.user.id, email: out.user.email, role: out.user.role } : null,
      };
    },

    async createUser(input) {
      const d = await db();
      const [a] = await d.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, input.accountId));
      if (!a) throw new CliError(`no account ${input.accountId}`);
      try {
        const u = await d.transaction(async (tx) => {
          const created = await createUser(tx, { accountId: input.accountId, email: input.email, password: input.password, role: input.role, name: input.name ?? null });
          await writeAudit(tx, { actor: "cli", action: "user.create", targetType: "user", targetId: created.id, after: { account_id: input.accountId, email: created.email, role: input.role } });
          return created;
        });
        return { id: u.id, account_id: u.accountId, email: u.email, role: u.role } satisfies UserOut;
      } catch (e) {
        if (/unique|duplicate/i.test(String((e as Error).message) + String((e as { cause?: Error }).cause?.message))) throw new CliError(`a user with email ${input.email} already exists`);
        throw e;
      }
    },

    async setUser(userId, patch) {
      const res = await updateUser(await db(), { actor: "cli" }, userId, patch);
      if (!res) throw new CliError(`no user ${userId}`);
      return { id: res.after.id, role: res.after.role, status: res.after.status };
    },

    async createKey(input) {
      const d = await db();
      const [a] = await d.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, input.accountId));
      if (!a) throw new CliError(`no account ${input.accountId}`);
      const r = await issueKey(d, SCOPE, { ...input, scopes: input.scopes });
      return { id: r.row.id, key: r.key };
    },

    async listKeys(q) {
      const d = await db();
      const keys: KeyView[] = [];
      let cursor: string | undefined;
      do {
        const page = await listKeys(d, SCOPE, { accountId: q.accountId, limit: 500, cursor });
        keys.push(...page.data);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      const usage = new Map<string, KeyUsage>();
      if (q.stats) for (const [id, s] of await keyUsageStats(d, keys.map((k) => k.id))) usage.set(id, { requests: s.requests, tokens: s.tokens, spent: formatMoney(s.priceMicros) });
      return { keys, usage };
    },

    async setLimit(ref, patch) {
      const d = await db();
      const id = await resolveKeyId(d, ref);
      const cur = await getKey(d, SCOPE, id);
      const limits = Object.fromEntries(Object.entries({ ...cur!.limits, ...patch }).filter(([, v]) => v !== null));
      const r = await updateKey(d, SCOPE, id, { limits });
      if (!r.ok) throw new CliError(r.reason === "revoked" ? `key ${id} is revoked` : `no key ${ref}`);
      return keyOut(id, r.after.start, r.after.status, r.after.limits);
    },

    async revokeKey(ref) {
      const d = await db();
      const id = await resolveKeyId(d, ref);
      const r = await revokeKey(d, SCOPE, id);
      if (!r.ok) throw new CliError(`no key ${ref}`);
      return keyOut(id, r.after.start, r.after.status, r.after.limits);
    },

    async credit(input) {
      const amount = parseMoney(input.amount);
      // billing's adjustBalance: ledger row and audit in one transaction; ledger ref `adj:<account>:cli:<ref>`,
      // the same one the admin API uses for idempotency key `cli:<ref>`.
      try {
        const r = await adjustBalance(await db(), { accountId: input.accountId, amountMicros: amount, reason: input.reason, idempotencyKey: `cli:${input.ref}`, actor: "cli" });
        return { account_id: input.accountId, amount: formatMoney(amount), balance: formatMoney(r.balanceMicros), currency, ref: `cli:${input.ref}`, entry_id: r.entryId, applied: r.applied, duplicate: !r.applied };
      } catch (e) {
        if (e instanceof AppError && e.code === "not_found") throw new CliError(`no account ${input.accountId}`);
        if (e instanceof AppError && e.code === "conflict") throw new CliError(`refused: ${e.message.replace("(send allow_negative: true to force it)", "")}`.trim());
        throw e;
      }
    },

    async stats() {
      return platformStats(await db(), currency);
    },

    async syncPrices(body) {
      try {
        return (await syncPrices(await db(), catalogSyncSettings(env), { actor: "cli", body })) as unknown as Record<string, number>;
      } catch (e) {
        throw new CliError(`price sync failed: ${(e as Error).message}`);
      }
    },

    async backup(label) {
      return createBackup(await db(), label, opts);
    },

    async restore(doc) {
      try {
        return await restoreBackup(await db(), doc);
      } catch (e) {
        if (e instanceof RestoreError) throw new CliError(`restore refused: ${e.message}`);
        throw e;
      }
    },
  };
}

/** A key by id, full secret or display prefix (unique match only). */
async function resolveKeyId(db: Db, ref: string): Promise<string> {
  if (ref.startsWith("key_")) {
    const [r] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, ref));
    if (r) return r.id;
    throw new CliError(`no key ${ref}`);
  }
  if (ref.startsWith(KEY_PREFIX) && ref.length > KEY_PREFIX.length + 16) {
    const [r] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.keyHash, hashApiKey(ref)));
    if (r) return r.id;
    throw new CliError(`no key with that secret (${maskKey(ref)})`);
  }
  const prefix = ref.replace(/…$/, "");
  const rows = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(like(apiKeys.start, `${prefix.replace(/[\\%_]/g, (m) => `\\${m}`)}%`))
    .limit(2);
  if (rows.length === 1) return rows[0]!.id;
  throw new CliError(rows.length ? `several keys start with ${prefix}; use the key id` : `no key matches ${ref}`);
}
