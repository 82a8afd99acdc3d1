import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { eq, like } from "drizzle-orm";
import { platformStats, updateUser } from "../accounts/admin.js";
import { getKey, issueKey, keyUsageStats, keyView, listKeys, revokeKey, updateKey, type KeyView } from "../accounts/api-keys.js";
import { createBackup, restoreBackup, RestoreError } from "../accounts/backup.js";
import { passwordProblem } from "../accounts/password.js";
import { createAccount, createUser, isPlausibleEmail } from "../accounts/users.js";
import { writeAudit } from "../audit/index.js";
import { adjustBalance } from "../billing/admin.js";
import { postLedgerEntry } from "../billing/ledger.js";
import { syncPrices } from "../billing/catalog-sync.js";
import { catalogSyncSettings } from "./settings.js";
import { AppError } from "../core/errors.js";
import { ConfigError, loadEnv, type Env } from "../config/env.js";
import { formatMoney, parseMoney } from "../core/money.js";
import { openDatabase, type Database, type Db } from "../db/client.js";
import { accounts, apiKeys } from "../db/schema/index.js";
import { hashApiKey, KEY_PREFIX, maskKey } from "../keys/index.js";

/**
 * `npx llm-gateway <command>`: operate a gateway from the shell. Works directly on the gateway's
 * database (DATABASE_URL, or PGlite in DATA_DIR) or, with --url and --admin-token, through a
 * running gateway's admin API. Exit codes: 0 ok, 1 failed (not found, refused, remote error),
 * 2 usage error.
 */

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  env: Record<string, string | undefined>;
  /** Interactive confirmation; absent (scripts, tests) = not interactive. */
  confirm?: (question: string) => Promise<boolean>;
  readStdin?: () => Promise<string>;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const usage = (m: string) => new CliError(m, 2);

const HELP = `Usage: llm-gateway <command> [options]

Server
  serve                              start the gateway (same settings as npm start)
  migrate                            apply database migrations

Accounts and users
  create-account --name N [--balance 100.00] [--tariff ID] [--email E --password P|--password-stdin --role client|admin]
  create-user --account A --email E (--password P | --password-stdin) [--role client|admin] [--name N]
  set-user --user U [--role client|admin] [--status active|blocked]
  credit --account A --amount 10.50 --reason "why" [--ref R]     (negative amount = debit)

Keys (always shown masked, except the new secret once at creation)
  create-key --account A [--name N] [--limit TOKENS] [--daily-limit TOKENS] [--monthly-limit TOKENS]
             [--spend-limit MONEY] [--models m1,m2] [--expires ISO-DATE] [--scopes inference,manage]
  list-keys [--account A] [--all] [--stats]
  set-limit --key K [--limit TOKENS|none] [--daily-limit ..] [--monthly-limit ..] [--spend-limit MONEY|none]
  revoke-key --key K [--force]       K = key id, the full secret, or its shown prefix

Data
  stats                              platform totals
  backup --path FILE                 consistent JSON dump (accounts, users, keys as hashes, ledger, tariffs, prices, holds)
  restore --path FILE                into an EMPTY migrated database; balances reproduced exactly
  sync-prices [--path models.json]   refresh the price book from OpenRouter /models (or a saved response)

Options
  --json                             machine-readable output
  --database-url URL / --data-dir D  override DATABASE_URL / DATA_DIR
  --url URL --admin-token T          act through a running gateway's admin API (account, key, credit, stats commands)
  -h, --help

With PGlite (no DATABASE_URL) the data directory belongs to one process: stop the server, or use --url.
`;

const OPTIONS = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  "database-url": { type: "string" },
  "data-dir": { type: "string" },
  url: { type: "string" },
  "admin-token": { type: "string" },
  name: { type: "string" },
  account: { type: "string" },
  user: { type: "string" },
  email: { type: "string" },
  password: { type: "string" },
  "password-stdin": { type: "boolean" },
  role: { type: "string" },
  status: { type: "string" },
  balance: { type: "string" },
  tariff: { type: "string" },
  key: { type: "string" },
  limit: { type: "string" },
  "daily-limit": { type: "string" },
  "monthly-limit": { type: "string" },
  "spend-limit": { type: "string" },
  models: { type: "string" },
  expires: { type: "string" },
  scopes: { type: "string" },
  all: { type: "boolean" },
  stats: { type: "boolean" },
  force: { type: "boolean" },
  amount: { type: "string" },
  reason: { type: "string" },
  ref: { type: "string" },
  path: { type: "string" },
} as const;

type Opts = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  // `--amount -5` would read "-5" as a short flag: glue negative numbers to their option.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith("--") ? a.slice(2) : null;
    if (name && name in OPTIONS && OPTIONS[name as keyof typeof OPTIONS].type === "string" && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
}

function need(o: Opts, name: keyof Opts): string {
  const v = o[name];
  if (typeof v !== "string" || !v.trim()) throw usage(`missing --${name}`);
  return v.trim();
}

interface Ctx {
  o: Opts;
  io: CliIo;
  env: Env;
  json: boolean;
  out(human: string | string[], json: unknown): void;
  /** Local database, opened and migrated on first use. */
  db(): Promise<Db>;
  remote: Remote | null;
}

// ---------------------------------------------------------------- remote (admin API)

class Remote {
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

// ---------------------------------------------------------------- helpers

function parseTokens(v: string | undefined, flag: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === "none" || v === "null") return null;
  const s = v.replace(/[_,]/g, "");
  if (!/^\d{1,15}$/.test(s)) throw usage(`--${flag} must be a whole number of tokens (or "none")`);
  return Number(s);
}

function parseMoneyOpt(v: string | undefined, flag: string): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === "none" || v === "null") return null;
  try {
    if (parseMoney(v) < 0n) throw new Error();
  } catch {
    throw usage(`--${flag} must be a non-negative decimal amount such as 25.00 (or "none")`);
  }
  return v;
}

/** The quota fields a command line sets (billing's QuotaLimits names). */
function limitsFrom(o: Opts): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined) out[k] = v;
  };
  put("total_tokens", parseTokens(o.limit, "limit"));
  put("daily_tokens", parseTokens(o["daily-limit"], "daily-limit"));
  put("monthly_tokens", parseTokens(o["monthly-limit"], "monthly-limit"));
  put("total_money", parseMoneyOpt(o["spend-limit"], "spend-limit"));
  return out;
}

function describeLimits(l: Record<string, unknown>): string {
  const parts: string[] = [];
  const n = (v: unknown) => (typeof v === "number" ? v.toLocaleString("en-US") : String(v));
  if (l.total_tokens != null) parts.push(`${n(l.total_tokens)} tokens`);
  if (l.daily_tokens != null) parts.push(`${n(l.daily_tokens)} tokens/day`);
  if (l.monthly_tokens != null) parts.push(`${n(l.monthly_tokens)} tokens/month`);
  if (l.total_money != null) parts.push(`${l.total_money} spend`);
  if (l.daily_money != null) parts.push(`${l.daily_money}/day`);
  if (l.monthly_money != null) parts.push(`${l.monthly_money}/month`);
  return parts.length ? parts.join(", ") : "no limit";
}

function csv(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(",").map((s) => s.trim()).filter(Boolean);
}

function role(v: string | undefined): "client" | "admin" | undefined {
  if (v === undefined) return undefined;
  if (v !== "client" && v !== "admin") throw usage("--role must be client or admin");
  return v;
}

async function passwordFrom(ctx: Ctx): Promise<string | undefined> {
  let pw = ctx.o.password;
  if (ctx.o["password-stdin"]) {
    if (!ctx.io.readStdin) throw usage("--password-stdin needs a pipe");
    pw = (await ctx.io.readStdin()).replace(/\r?\n$/, "");
  }
  if (pw !== undefined) {
    const p = passwordProblem(pw);
    if (p) throw usage(p);
  }
  return pw;
}

/** A key by id, full secret or display prefix (unique match only). */
async function resolveKeyId(db: Db, ref: string): Promise<string> {
  if (ref.startsWith("key_")) {
    const [r] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, ref));
    if (r) return r.id;
    throw new CliError(`no key ${ref}`);
  }
  if (ref.startsWith(KEY_PREFIX) && ref.length > KEY_PREFIX.length + 16) {
    const h = hashApiKey(ref);
    const [r] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.keyHash, h));
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

/** Remote form of resolveKeyId: a secret goes in a POST body (never in a URL), a prefix is searched. */
async function remoteKeyId(remote: Remote, ref: string): Promise<string> {
  if (ref.startsWith("key_")) return ref;
  if (ref.startsWith(KEY_PREFIX) && ref.length > KEY_PREFIX.length + 16) return (await remote.call<KeyView>("POST", "/admin/keys/lookup", { key: ref })).id;
  const prefix = ref.replace(/…$/, "");
  const page = await remote.call<{ data: KeyView[] }>("GET", `/admin/keys?${new URLSearchParams({ q: prefix, limit: "2" })}`);
  if (page.data.length === 1) return page.data[0]!.id;
  throw new CliError(page.data.length ? `several keys start with ${prefix}; use the key id` : `no key matches ${ref}`);
}

function keyLines(k: KeyView, stats?: { requests: number; tokens: number; spent: string }): string[] {
  const lines = [`${k.key}  ${k.id}  [${k.status}]`, `   account: ${k.account_id}   name: ${k.name || "-"}`, `   limit: ${describeLimits(k.limits)}`];
  if (k.allowed_models) lines.push(`   models: ${k.allowed_models.join(", ")}`);
  if (k.expires_at) lines.push(`   expires: ${k.expires_at}`);
  if (stats) lines.push(`   usage: ${stats.requests} requests, ${stats.tokens.toLocaleString("en-US")} tokens, ${stats.spent} spent`);
  return lines;
}

// ---------------------------------------------------------------- commands

type Command = (ctx: Ctx) => Promise<void>;

const commands: Record<string, Command> = {
  async migrate(ctx) {
    await ctx.db();
    ctx.out("migrations applied", { ok: true });
  },

  async "create-account"(ctx) {
    const name = need(ctx.o, "name");
    const balance = ctx.o.balance;
    if (balance !== undefined) parseMoneyOpt(balance, "balance");
    const email = ctx.o.email;
    if (email !== undefined && !isPlausibleEmail(email.trim())) throw usage("--email is not an email address");
    const pw = await passwordFrom(ctx);
    const r = role(ctx.o.role);
    if ((pw || r) && !email) throw usage("--password/--role need --email (they create the account's first user)");
    if (ctx.remote) {
      const acct = await ctx.remote.call<{ id: string; balance: string }>("POST", "/admin/accounts", { name, initial_balance: balance, tariff_id: ctx.o.tariff });
      const user = email ? await ctx.remote.call<{ id: string }>("POST", "/admin/users", { account_id: acct.id, email, password: pw, role: r ?? "client" }) : null;
      ctx.out([`account ${acct.id} created (balance ${acct.balance})`, ...(user ? [`user ${user.id} <${email}>`] : [])], { account: acct, user });
      return;
    }
    const db = await ctx.db();
    const out = await db.transaction(async (tx) => {
      const a = await createAccount(tx, { name, tariffId: ctx.o.tariff ?? null });
      if (balance && parseMoney(balance) > 0n) {
        await postLedgerEntry(tx, { accountId: a.id, kind: "adjustment", amountMicros: parseMoney(balance), ref: `open:${a.id}`, reason: "opening balance", actor: "cli" });
      }
      const u = email ? await createUser(tx, { accountId: a.id, email, password: pw ?? null, role: r ?? "client" }) : null;
      await writeAudit(tx, { actor: "cli", action: "account.create", targetType: "account", targetId: a.id, after: { name, balance: balance ?? "0" } });
      if (u) await writeAudit(tx, { actor: "cli", action: "user.create", targetType: "user", targetId: u.id, after: { account_id: a.id, email: u.email, role: u.role } });
      const [fresh] = await tx.select().from(accounts).where(eq(accounts.id, a.id));
      return { account: fresh!, user: u };
    });
    ctx.out(
      [`account ${out.account.id} created (balance ${formatMoney(out.account.balanceMicros)})`, ...(out.user ? [`user ${out.user.id} <${out.user.email}> role ${out.user.role}`] : [])],
      {
        account: { id: out.account.id, name: out.account.name, balance: formatMoney(out.account.balanceMicros), currency: ctx.env.BILLING_CURRENCY },
        user: out.user ? { id: out.user.id, email: out.user.email, role: out.user.role } : null,
      },
    );
  },

  async "create-user"(ctx) {
    const accountId = need(ctx.o, "account");
    const email = need(ctx.o, "email");
    if (!isPlausibleEmail(email)) throw usage("--email is not an email address");
    const pw = await passwordFrom(ctx);
    if (!pw) throw usage("missing --password (or --password-stdin)");
    const r = role(ctx.o.role) ?? "client";
    if (ctx.remote) {
      const u = await ctx.remote.call<{ id: string }>("POST", "/admin/users", { account_id: accountId, email, password: pw, role: r, name: ctx.o.name });
      ctx.out(`user ${u.id} <${email}> role ${r}`, u);
      return;
    }
    const db = await ctx.db();
    const [a] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId));
    if (!a) throw new CliError(`no account ${accountId}`);
    let u;
    try {
      u = await db.transaction(async (tx) => {
        const created = await createUser(tx, { accountId, email, password: pw, role: r, name: ctx.o.name ?? null });
        await writeAudit(tx, { actor: "cli", action: "user.create", targetType: "user", targetId: created.id, after: { account_id: accountId, email: created.email, role: r } });
        return created;
      });
    } catch (e) {
      if (/unique|duplicate/i.test(String((e as Error).message) + String((e as { cause?: Error }).cause?.message))) throw new CliError(`a user with email ${email} already exists`);
      throw e;
    }
    ctx.out(`user ${u.id} <${u.email}> role ${u.role}`, { id: u.id, account_id: u.accountId, email: u.email, role: u.role });
  },

  async "set-user"(ctx) {
    const userId = need(ctx.o, "user");
    const r = role(ctx.o.role);
    const st = ctx.o.status;
    if (st !== undefined && st !== "active" && st !== "blocked") throw usage("--status must be active or blocked");
    if (!r && !st) throw usage("nothing to change: give --role and/or --status");
    if (ctx.remote) {
      const u = await ctx.remote.call<{ id: string; role: string; status: string }>("PATCH", `/admin/users/${encodeURIComponent(userId)}`, { role: r, status: st });
      ctx.out(`user ${u.id}: role ${u.role}, ${u.status}`, u);
      return;
    }
    const db = await ctx.db();
    const res = await updateUser(db, { actor: "cli" }, userId, { role: r, status: st as "active" | "blocked" | undefined });
    if (!res) throw new CliError(`no user ${userId}`);
    ctx.out(`user ${res.after.id}: role ${res.after.role}, ${res.after.status}`, { id: res.after.id, role: res.after.role, status: res.after.status });
  },

  async "create-key"(ctx) {
    const accountId = need(ctx.o, "account");
    const limits = limitsFrom(ctx.o);
    const scopes = csv(ctx.o.scopes);
    const models = csv(ctx.o.models);
    let expiresAt: Date | null = null;
    if (ctx.o.expires) {
      expiresAt = new Date(ctx.o.expires);
      if (Number.isNaN(expiresAt.getTime())) throw usage("--expires must be a date such as 2026-12-31 or an ISO timestamp");
    }
    if (scopes?.some((s) => s !== "inference" && s !== "manage")) throw usage("--scopes: inference and/or manage");
    const body = { account_id: accountId, name: ctx.o.name ?? "", limits, allowed_models: models ?? null, expires_at: expiresAt?.toISOString() ?? null, scopes };
    let created: { id: string; key: string; view: KeyView | null };
    if (ctx.remote) {
      const r = await ctx.remote.call<KeyView & { secret: string }>("POST", "/admin/keys", body);
      created = { id: r.id, key: r.secret, view: r };
    } else {
      const db = await ctx.db();
      const [a] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId));
      if (!a) throw new CliError(`no account ${accountId}`);
      const r = await issueKey(db, { accountId: null, actor: "cli" }, {
        accountId,
        name: ctx.o.name ?? "",
        limits,
        allowedModels: models ?? null,
        expiresAt,
        scopes,
      });
      created = { id: r.row.id, key: r.key, view: keyView(r.row) };
    }
    ctx.out(
      [`key ${created.id} created for ${accountId} (limit: ${describeLimits(limits)})`, "", `  ${created.key}`, "", "Store it now: it is shown only this once."],
      { id: created.id, key: created.key, account_id: accountId, limits },
    );
  },

  async "list-keys"(ctx) {
    const accountId = ctx.o.account;
    let keys: KeyView[] = [];
    const stats = new Map<string, { requests: number; tokens: number; spent: string }>();
    if (ctx.remote) {
      let cursor: string | null = null;
      do {
        const qs = new URLSearchParams({ limit: "500", ...(accountId ? { account_id: accountId } : {}), ...(ctx.o.stats ? { include_stats: "true" } : {}), ...(cursor ? { cursor } : {}) });
        const page: { data: Array<KeyView & { usage?: { requests: number; tokens: number; spent: string } }>; next_cursor: string | null } = await ctx.remote.call("GET", `/admin/keys?${qs}`);
        for (const k of page.data) {
          keys.push(k);
          if (k.usage) stats.set(k.id, k.usage);
        }
        cursor = page.next_cursor;
      } while (cursor);
    } else {
      const db = await ctx.db();
      let cursor: string | undefined;
      do {
        const page = await listKeys(db, { accountId: null, actor: "cli" }, { accountId, limit: 500, cursor });
        keys.push(...page.data);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      if (ctx.o.stats) {
        for (const [id, s] of await keyUsageStats(db, keys.map((k) => k.id))) stats.set(id, { requests: s.requests, tokens: s.tokens, spent: formatMoney(s.priceMicros) });
      }
    }
    if (!ctx.o.all) keys = keys.filter((k) => k.status !== "revoked");
    const tokenLimits = keys.map((k) => k.limits.total_tokens).filter((v): v is number => typeof v === "number");
    const summary = {
      keys: keys.length,
      active: keys.filter((k) => k.status === "active").length,
      total_token_limit: tokenLimits.reduce((s, v) => s + v, 0),
      average_token_limit: tokenLimits.length ? Math.round(tokenLimits.reduce((s, v) => s + v, 0) / tokenLimits.length) : null,
    };
    const lines = [`${keys.length} key(s)${accountId ? ` of ${accountId}` : ""}:`, ""];
    for (const k of keys) lines.push(...keyLines(k, ctx.o.stats ? (stats.get(k.id) ?? { requests: 0, tokens: 0, spent: "0.00" }) : undefined));
    if (ctx.o.stats) {
      lines.push("", `total: ${summary.keys} keys (${summary.active} active), token limits ${summary.total_token_limit.toLocaleString("en-US")}` + (summary.average_token_limit !== null ? `, average ${summary.average_token_limit.toLocaleString("en-US")}` : ""));
    }
    ctx.out(lines, { data: keys.map((k) => ({ ...k, ...(ctx.o.stats ? { usage: stats.get(k.id) ?? { requests: 0, tokens: 0, spent: "0.00" } } : {}) })), ...(ctx.o.stats ? { summary } : {}) });
  },

  async "set-limit"(ctx) {
    const ref = need(ctx.o, "key");
    const patch = limitsFrom(ctx.o);
    if (!Object.keys(patch).length) throw usage("give at least one of --limit, --daily-limit, --monthly-limit, --spend-limit");
    if (ctx.remote) {
      const k = await ctx.remote.call<KeyView>("GET", `/admin/keys/${encodeURIComponent(await remoteKeyId(ctx.remote, ref))}`);
      const limits = Object.fromEntries(Object.entries({ ...k.limits, ...patch }).filter(([, v]) => v !== null));
      const after = await ctx.remote.call<KeyView>("PATCH", `/admin/keys/${encodeURIComponent(k.id)}`, { limits });
      ctx.out(`key ${after.id} (${after.key}): limit ${describeLimits(after.limits)}`, after);
      return;
    }
    const db = await ctx.db();
    const id = await resolveKeyId(db, ref);
    const scope = { accountId: null, actor: "cli" };
    const cur = await getKey(db, scope, id);
    const limits = Object.fromEntries(Object.entries({ ...cur!.limits, ...patch }).filter(([, v]) => v !== null));
    const r = await updateKey(db, scope, id, { limits });
    if (!r.ok) throw new CliError(r.reason === "revoked" ? `key ${id} is revoked` : `no key ${ref}`);
    ctx.out(`key ${id} (${maskKey(r.after.start)}): limit ${describeLimits(r.after.limits)}`, { id, key: maskKey(r.after.start), limits: r.after.limits });
  },

  async "revoke-key"(ctx) {
    const ref = need(ctx.o, "key");
    if (!ctx.o.force) {
      const ok = ctx.io.confirm ? await ctx.io.confirm(`Revoke key ${ref.startsWith(KEY_PREFIX) ? maskKey(ref) : ref}? It stops working at once. [y/N] `) : false;
      if (!ok) throw new CliError(ctx.io.confirm ? "not revoked" : "refusing to revoke without --force (not interactive)", ctx.io.confirm ? 1 : 2);
    }
    if (ctx.remote) {
      const id = await remoteKeyId(ctx.remote, ref);
      const r = await ctx.remote.call<KeyView>("DELETE", `/admin/keys/${encodeURIComponent(id)}`);
      ctx.out(`key ${r.id} (${r.key}) revoked`, r);
      return;
    }
    const db = await ctx.db();
    const id = await resolveKeyId(db, ref);
    const r = await revokeKey(db, { accountId: null, actor: "cli" }, id);
    if (!r.ok) throw new CliError(`no key ${ref}`);
    ctx.out(`key ${id} (${maskKey(r.after.start)}) revoked`, { id, key: maskKey(r.after.start), status: r.after.status });
  },

  async credit(ctx) {
    const accountId = need(ctx.o, "account");
    const amountStr = need(ctx.o, "amount");
    const reason = need(ctx.o, "reason");
    let amount: bigint;
    try {
      amount = parseMoney(amountStr);
    } catch {
      throw usage("--amount must be a decimal amount such as 10.50 (negative to debit)");
    }
    if (amount === 0n) throw usage("--amount must not be zero");
    // Re-running with the same --ref is a no-op (ledger (kind, ref) is unique): safe to retry.
    const ref = ctx.o.ref ?? randomBytes(9).toString("base64url");
    if (ctx.remote) {
      const r = await ctx.remote.call<Record<string, unknown>>("POST", `/admin/accounts/${encodeURIComponent(accountId)}/adjustments`, { amount: amountStr, reason, idempotency_key: `cli:${ref}` });
      ctx.out(`credited ${amountStr} to ${accountId} (ref cli:${ref})`, r);
      return;
    }
    const db = await ctx.db();
    // billing's adjustBalance: postLedgerEntry in one transaction with the audit row; the ledger ref is
    // `adj:<account>:cli:<ref>`, the same one the admin API uses for idempotency key `cli:<ref>`.
    let res;
    try {
      res = await adjustBalance(db, { accountId, amountMicros: amount, reason, idempotencyKey: `cli:${ref}`, actor: "cli" });
    } catch (e) {
      if (e instanceof AppError && e.code === "not_found") throw new CliError(`no account ${accountId}`);
      if (e instanceof AppError && e.code === "conflict") throw new CliError(`refused: ${e.message.replace("(send allow_negative: true to force it)", "")}`.trim());
      throw e;
    }
    const balance = formatMoney(res.balanceMicros);
    const dup = !res.applied;
    ctx.out(dup ? `already applied earlier (ref cli:${ref}); balance ${balance}` : `${amount > 0n ? "credited" : "debited"} ${formatMoney(amount < 0n ? -amount : amount)} ${ctx.env.BILLING_CURRENCY} to ${accountId}; balance ${balance} (ref cli:${ref})`, {
      account_id: accountId,
      amount: formatMoney(amount),
      balance,
      currency: ctx.env.BILLING_CURRENCY,
      ref: `cli:${ref}`,
      entry_id: res.entryId,
      duplicate: dup,
    });
  },

  async stats(ctx) {
    const s = ctx.remote ? await ctx.remote.call<Awaited<ReturnType<typeof platformStats>>>("GET", "/v1/admin/stats") : await platformStats(await ctx.db(), ctx.env.BILLING_CURRENCY);
    ctx.out(
      [
        `accounts: ${s.accounts.total} (${s.accounts.active} active)   users: ${s.users.total} (${s.users.admins} admins)   active keys: ${s.active_keys}`,
        `balances: ${s.balances.total} ${s.currency} (reserved ${s.balances.reserved})`,
        `requests: ${s.requests.total} (${s.requests.failed} failed), tokens in/out ${s.requests.prompt_tokens}/${s.requests.completion_tokens}`,
        `revenue ${s.revenue}, upstream cost ${s.upstream_cost}, profit ${s.profit}`,
      ],
      s,
    );
  },

  async backup(ctx) {
    const path = need(ctx.o, "path");
    if (ctx.remote) throw usage("backup works on the database directly (no --url)");
    const db = await ctx.db();
    const file = await createBackup(db, `llm-gateway cli (${ctx.env.DATABASE_URL ? "postgres" : "pglite"})`);
    // Password and key hashes inside: owner-only file, written atomically.
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(file, null, 1) + "\n", { mode: 0o600 });
    renameSync(tmp, path);
    const rows = Object.entries(file.totals.rows).map(([t, n]) => `${t} ${n}`).join(", ");
    ctx.out([`backup written to ${path}`, `rows: ${rows}`, `balances total ${formatMoney(BigInt(file.totals.balance_micros))} = ledger total ${formatMoney(BigInt(file.totals.ledger_micros))}`], {
      path,
      rows: file.totals.rows,
      balance_total: formatMoney(BigInt(file.totals.balance_micros)),
      ledger_total: formatMoney(BigInt(file.totals.ledger_micros)),
    });
  },

  async restore(ctx) {
    const path = need(ctx.o, "path");
    if (ctx.remote) throw usage("restore works on the database directly (no --url)");
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
    }
    const db = await ctx.db();
    try {
      const r = await restoreBackup(db, doc);
      const rows = Object.entries(r.rows).map(([t, n]) => `${t} ${n}`).join(", ");
      ctx.out([`restored from ${path}`, `rows: ${rows}`, `balances total ${formatMoney(BigInt(r.totals.balance_micros))}`], {
        path,
        rows: r.rows,
        balance_total: formatMoney(BigInt(r.totals.balance_micros)),
      });
    } catch (e) {
      if (e instanceof RestoreError) throw new CliError(`restore refused: ${e.message}`);
      throw e;
    }
  },

  async "sync-prices"(ctx) {
    if (ctx.remote) {
      const r = await ctx.remote.call<Record<string, number>>("POST", "/admin/prices/sync", {});
      ctx.out(syncLine(r), r);
      return;
    }
    let body: unknown;
    if (ctx.o.path) {
      try {
        body = JSON.parse(readFileSync(ctx.o.path, "utf8"));
      } catch (e) {
        throw new CliError(`cannot read ${ctx.o.path}: ${(e as Error).message}`);
      }
    }
    const db = await ctx.db();
    let r;
    try {
      r = await syncPrices(db, catalogSyncSettings(ctx.env), { actor: "cli", body });
    } catch (e) {
      throw new CliError(`price sync failed: ${(e as Error).message}`);
    }
    ctx.out(syncLine(r as unknown as Record<string, number>), r);
  },
};

function syncLine(r: Record<string, number>): string {
  return `price sync: ${r.seen} models seen, ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.held} held for review, ${r.pinned} pinned`;
}

function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x), 2);
}

/** Runs one command line; returns the exit code (never calls process.exit). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (e) {
    io.stderr(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const o = parsed.values;
  const cmd = parsed.positionals[0];
  if (o.help || !cmd || cmd === "help") {
    io.stdout(HELP);
    return cmd || o.help ? 0 : 2;
  }
  if (parsed.positionals.length > 1) {
    io.stderr(`error: unexpected argument ${parsed.positionals[1]}\n`);
    return 2;
  }
  if (cmd === "serve") {
    await import("./server.js");
    return await new Promise<number>(() => undefined);
  }
  const run = commands[cmd];
  if (!run) {
    io.stderr(`error: unknown command ${cmd}\n\n${HELP}`);
    return 2;
  }
  let env: Env;
  try {
    env = loadEnv({
      ...io.env,
      ...(o["database-url"] ? { DATABASE_URL: o["database-url"] } : {}),
      ...(o["data-dir"] ? { DATA_DIR: o["data-dir"] } : {}),
      LOG_LEVEL: "silent",
    });
  } catch (e) {
    io.stderr(`${(e as Error).message}\n`);
    return e instanceof ConfigError ? 2 : 1;
  }
  const url = o.url ?? io.env.LLM_GATEWAY_URL;
  const token = o["admin-token"] ?? io.env.LLM_GATEWAY_ADMIN_TOKEN ?? (o.url ? env.ADMIN_TOKEN : undefined);
  if (o.url && !token) {
    io.stderr("error: --url needs --admin-token (or LLM_GATEWAY_ADMIN_TOKEN)\n");
    return 2;
  }
  let database: Database | null = null;
  const json = !!o.json;
  const ctx: Ctx = {
    o,
    io,
    env,
    json,
    remote: url && token ? new Remote(url, token) : null,
    out(human, data) {
      io.stdout(json ? stringify(data) + "\n" : (Array.isArray(human) ? human.join("\n") : human) + "\n");
    },
    async db() {
      if (!database) {
        database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 2 });
        await database.migrate();
      }
      return database.db;
    },
  };
  try {
    await run(ctx);
    return 0;
  } catch (e) {
    const code = e instanceof CliError ? e.exitCode : 1;
    const msg = e instanceof CliError ? e.message : `unexpected failure: ${(e as Error).message}`;
    if (json) io.stdout(stringify({ error: { message: msg, exit_code: code } }) + "\n");
    io.stderr(`error: ${msg}\n`);
    return code;
  } finally {
    if (database) await (database as Database).close().catch(() => undefined);
  }
}

export function processIo(): CliIo {
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY;
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
    confirm: interactive
      ? async (q) => {
          const rl = createInterface({ input: process.stdin, output: process.stdout });
          try {
            return /^y(es)?$/i.test((await rl.question(q)).trim());
          } finally {
            rl.close();
          }
        }
      : undefined,
    readStdin: process.stdin.isTTY
      ? undefined
      : async () => {
          let s = "";
          for await (const chunk of process.stdin) s += String(chunk);
          return s;
        },
  };
}
