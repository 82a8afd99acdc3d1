import type { KeyView } from "../../accounts/api-keys.js";
import { KEY_PREFIX } from "../../keys/index.js";
import { CliError, usage, type AdminOps, type KeyUsage, type PlatformStats, type UserOut } from "./ops.js";

/** One admin-API call: Bearer token, JSON both ways, an error body turned into a CliError. */
class AdminApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl.replace(/\/+$/, "") + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new CliError(`cannot reach ${this.baseUrl}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (!res.ok) {
      const msg = (parsed as { error?: { message?: string; code?: string } } | null)?.error;
      throw new CliError(`${method} ${path} → ${res.status}${msg?.code ? ` ${msg.code}` : ""}: ${msg?.message ?? text.slice(0, 200)}`);
    }
    return parsed as T;
  }
}

const keyOut = (k: KeyView) => ({ id: k.id, key: k.key, status: k.status, limits: k.limits });
const enc = encodeURIComponent;

/** AdminOps through a running gateway's admin API: no database access at all. */
export function remoteOps(baseUrl: string, token: string): AdminOps {
  const api = new AdminApi(baseUrl, token);
  // A secret goes in a POST body (never in a URL), a prefix is searched.
  const keyId = async (ref: string): Promise<string> => {
    if (ref.startsWith("key_")) return ref;
    if (ref.startsWith(KEY_PREFIX) && ref.length > KEY_PREFIX.length + 16) return (await api.call<KeyView>("POST", "/admin/keys/lookup", { key: ref })).id;
    const prefix = ref.replace(/…$/, "");
    const page = await api.call<{ data: KeyView[] }>("GET", `/admin/keys?${new URLSearchParams({ q: prefix, limit: "2" })}`);
    if (page.data.length === 1) return page.data[0]!.id;
    throw new CliError(page.data.length ? `several keys start with ${prefix}; use the key id` : `no key matches ${ref}`);
  };
  const localOnly = (what: string) => async (): Promise<never> => {
    throw usage(`${what} works on the database directly (no --url)`);
  };
  return {
    where: "remote",
    migrate: localOnly("migrate"),
    backup: localOnly("backup"),
    restore: localOnly("restore"),

    async createAccount(input) {
      const account = await api.call<{ id: string; name: string; balance: string; currency: string }>("POST", "/admin/accounts", { name: input.name, initial_balance: input.balance, tariff_id: input.tariffId });
      const user = input.user ? await api.call<UserOut>("POST", "/admin/users", { account_id: account.id, email: input.user.email, password: input.user.password, role: input.user.role }) : null;
      return { account, user };
    },
    createUser: (input) => api.call<UserOut>("POST", "/admin/users", { account_id: input.accountId, email: input.email, password: input.password, role: input.role, name: input.name }),
    setUser: (userId, patch) => api.call<UserOut>("PATCH", `/admin/users/${enc(userId)}`, patch),

    async createKey(input) {
      const body = { account_id: input.accountId, name: input.name, limits: input.limits, allowed_models: input.allowedModels, expires_at: input.expiresAt?.toISOString() ?? null, scopes: input.scopes };
      const r = await api.call<KeyView & { secret: string }>("POST", "/admin/keys", body);
      return { id: r.id, key: r.secret };
    },

    async listKeys(q) {
      const keys: KeyView[] = [];
      const usage = new Map<string, KeyUsage>();
      let cursor: string | null = null;
      do {
        const qs = new URLSearchParams({ limit: "500", ...(q.accountId ? { account_id: q.accountId } : {}), ...(q.stats ? { include_stats: "true" } : {}), ...(cursor ? { cursor } : {}) });
        const page: { data: Array<KeyView & { usage?: KeyUsage }>; next_cursor: string | null } = await api.call("GET", `/admin/keys?${qs}`);
        for (const k of page.data) {
          keys.push(k);
          if (k.usage) usage.set(k.id, k.usage);
        }
        cursor = page.next_cursor;
      } while (cursor);
      return { keys, usage };
    },

    async setLimit(ref, patch) {
      const k = await api.call<KeyView>("GET", `/admin/keys/${enc(await keyId(ref))}`);
      const limits = Object.fromEntries(Object.entries({ ...k.limits, ...patch }).filter(([, v]) => v !== null));
      return keyOut(await api.call<KeyView>("PATCH", `/admin/keys/${enc(k.id)}`, { limits }));
    },
    revokeKey: async (ref) => keyOut(await api.call<KeyView>("DELETE", `/admin/keys/${enc(await keyId(ref))}`)),

    async credit(input) {
      const r = await api.call<{ applied: boolean; entry_id: string; balance: string; currency: string }>("POST", `/admin/accounts/${enc(input.accountId)}/adjustments`, {
        amount: input.amount,
        reason: input.reason,
        idempotency_key: `cli:${input.ref}`,
      });
      return { account_id: input.accountId, amount: input.amount, balance: r.balance, currency: r.currency, ref: `cli:${input.ref}`, entry_id: r.entry_id, applied: r.applied, duplicate: !r.applied };
    },
    stats: () => api.call<PlatformStats>("GET", "/v1/admin/stats"),
    syncPrices: () => api.call<Record<string, number>>("POST", "/admin/prices/sync", {}),
  };
}
