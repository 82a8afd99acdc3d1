import { sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../db/client.js";

/**
 * Logical backup of the whole business as one JSON document, and restore into an empty database.
 * Values round-trip through PostgreSQL's own JSON conversion (`to_jsonb` out,
 * `jsonb_populate_recordset` in), with int8 columns carried as strings, so bigint micros,
 * microsecond timestamps, jsonb and arrays come back bit-for-bit. The dump is read in one
 * REPEATABLE READ transaction: balances, ledger, holds and logs are from the same instant.
 *
 * Every table is in BACKUP_TABLES or in NOT_BACKED_UP (a test fails when a new table is in
 * neither). Upstream (master) account keys travel sealed as stored: the restored gateway needs the
 * same ENCRYPTION_KEY (`encryption_check` comes along, so a wrong key stops start-up instead of
 * failing requests). Request logs can be left out (`--without-request-logs`): balances and the
 * ledger don't depend on them, only usage reports of the days not yet folded into
 * `request_log_daily` do.
 */
export const BACKUP_FORMAT = "llm-gateway-backup";
export const BACKUP_VERSION = 1;

/** In restore order (parents first); tables that don't exist in this build are skipped. */
export const BACKUP_TABLES = [
  "tariffs",
  "model_prices",
  "fx_rates",
  "price_changes",
  "routing_providers",
  "encryption_check",
  "upstream_accounts",
  "model_routes",
  "accounts",
  "users",
  "api_keys",
  "did_identities",
  "upstream_customer_keys",
  "ledger_entries",
  "holds",
  // Open leases are part of accounts.reserved_micros: restored with it, the sweeper returns them.
  "balance_leases",
  "usage_counters",
  "payment_orders",
  "payments",
  "payment_anomalies",
  "refund_requests",
  "payment_receipts",
  "payment_state",
  "low_balance_alerts",
  "audit_log",
  "request_logs",
  "request_log_daily",
] as const;

/**
 * Left out on purpose: sessions and one-time auth state die with the old server (users log in
 * again; the JWT secret is regenerated or comes from JWT_SECRET), e-mail links must not outlive it,
 * and Telegram's update ids are only a redelivery guard.
 */
export const NOT_BACKED_UP = ["auth_sessions", "refresh_tokens", "auth_replay_guards", "auth_login_requests", "auth_secrets", "email_tokens", "telegram_updates"] as const;

/** Tables that must be empty for a restore (a fresh `migrate` may fill others, e.g. a default tariff). */
const MUST_BE_EMPTY = new Set(["accounts", "users", "api_keys", "ledger_entries", "holds", "balance_leases", "payments", "payment_orders"]);

export interface BackupTable {
  columns: string[];
  rows: Record<string, unknown>[];
}

export interface BackupFile {
  format: typeof BACKUP_FORMAT;
  version: number;
  created_at: string;
  source: string;
  tables: Record<string, BackupTable>;
  totals: BackupTotals;
}

export interface BackupTotals {
  rows: Record<string, number>;
  /** Sum of accounts.balance_micros and of ledger amounts: equal in a consistent database. */
  balance_micros: string;
  ledger_micros: string;
  reserved_micros: string;
}

function rowsOf<T>(r: unknown): T[] {
  return ((r as { rows?: T[] }).rows ?? (Array.isArray(r) ? r : [])) as T[];
}

interface ColumnInfo {
  name: string;
  dataType: string;
  identity: boolean;
}

async function existingTables(db: DbOrTx): Promise<Set<string>> {
  const r = await db.execute(sql`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`);
  return new Set(rowsOf<{ table_name: string }>(r).map((x) => x.table_name));
}

async function columnsOf(db: DbOrTx, table: string): Promise<ColumnInfo[]> {
  const r = await db.execute(sql`
    select column_name, data_type, is_identity from information_schema.columns
    where table_schema = current_schema() and table_name = ${table} order by ordinal_position`);
  return rowsOf<{ column_name: string; data_type: string; is_identity: string }>(r).map((c) => ({
    name: c.column_name,
    dataType: c.data_type,
    identity: c.is_identity === "YES",
  }));
}

async function totals(db: DbOrTx, tables: Set<string>): Promise<Omit<BackupTotals, "rows">> {
  const a = rowsOf<{ b: string; r: string }>(await db.execute(sql`select coalesce(sum(balance_micros),0)::text as b, coalesce(sum(reserved_micros),0)::text as r from accounts`))[0]!;
  const l = tables.has("ledger_entries")
    ? rowsOf<{ l: string }>(await db.execute(sql`select coalesce(sum(amount_micros),0)::text as l from ledger_entries`))[0]!.l
    : "0";
  return { balance_micros: a.b, reserved_micros: a.r, ledger_micros: l };
}

async function dumpTable(db: DbOrTx, table: string): Promise<BackupTable> {
  const cols = await columnsOf(db, table);
  const bigints = cols.filter((c) => c.dataType === "bigint");
  // int8 → JSON string (JS numbers would round above 2^53); everything else as PostgreSQL renders it.
  const override = bigints.length
    ? sql.join(
        bigints.map((c) => sql`${c.name}::text, ${sql.identifier(c.name)}::text`),
        sql`, `,
      )
    : null;
  const expr = override ? sql`to_jsonb(t) || jsonb_build_object(${override})` : sql`to_jsonb(t)`;
  const pk = await primaryKeyOf(db, table);
  const order = pk.length ? sql.join(pk.map((c) => sql.identifier(c)), sql`, `) : sql`1`;
  const r = await db.execute(sql`select ${expr} as row from ${sql.identifier(table)} t order by ${order}`);
  return { columns: cols.map((c) => c.name), rows: rowsOf<{ row: Record<string, unknown> | string }>(r).map((x) => (typeof x.row === "string" ? JSON.parse(x.row) : x.row)) };
}

async function primaryKeyOf(db: DbOrTx, table: string): Promise<string[]> {
  const r = await db.execute(sql`
    select a.attname from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
    where i.indrelid = ${table}::regclass and i.indisprimary order by a.attnum`);
  return rowsOf<{ attname: string }>(r).map((x) => x.attname);
}

/** Reads every backup table in one REPEATABLE READ, read-only transaction. */
export async function createBackup(db: Db, source = "llm-gateway", opts: { withoutRequestLogs?: boolean } = {}): Promise<BackupFile> {
  return db.transaction(
    async (tx) => {
      const present = await existingTables(tx);
      const tables: Record<string, BackupTable> = {};
      const rows: Record<string, number> = {};
      for (const t of BACKUP_TABLES) {
        if (!present.has(t) || (opts.withoutRequestLogs && t === "request_logs")) continue;
        tables[t] = await dumpTable(tx, t);
        rows[t] = tables[t].rows.length;
      }
      return {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        created_at: new Date().toISOString(),
        source,
        tables,
        totals: { rows, ...(await totals(tx, present)) },
      };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}

export class RestoreError extends Error {
  override name = "RestoreError";
}

/** Validates the document's shape and its own totals before anything is written. */
export function checkBackupFile(doc: unknown): BackupFile {
  const d = doc as Partial<BackupFile> | null;
  if (!d || d.format !== BACKUP_FORMAT) throw new RestoreError("not an llm-gateway backup file");
  if (d.version !== BACKUP_VERSION) throw new RestoreError(`unsupported backup version ${String(d.version)} (this build reads ${BACKUP_VERSION})`);
  if (!d.tables || typeof d.tables !== "object" || !d.totals) throw new RestoreError("backup file has no tables");
  for (const [name, t] of Object.entries(d.tables)) {
    if (!(BACKUP_TABLES as readonly string[]).includes(name)) throw new RestoreError(`unexpected table ${name} in backup`);
    if (!Array.isArray(t.rows) || !Array.isArray(t.columns)) throw new RestoreError(`table ${name} is malformed`);
    if (d.totals.rows?.[name] !== t.rows.length) throw new RestoreError(`table ${name}: ${t.rows.length} rows but the file says ${d.totals.rows?.[name]} (truncated?)`);
  }
  const balance = (d.tables.accounts?.rows ?? []).reduce((s, r) => s + BigInt(String(r.balance_micros ?? "0")), 0n);
  if (balance.toString() !== d.totals.balance_micros) throw new RestoreError("account balances don't add up to the file's total (file edited or truncated)");
  return d as BackupFile;
}

const CHUNK = 500;

/**
 * Restores into an EMPTY database (after `migrate`): refuses if any account, user, key, ledger or
 * payment row exists. Everything happens in one transaction; totals are re-checked before commit.
 */
export async function restoreBackup(db: Db, doc: unknown): Promise<{ rows: Record<string, number>; totals: BackupTotals }> {
  const file = checkBackupFile(doc);
  return db.transaction(async (tx) => {
    const present = await existingTables(tx);
    for (const t of MUST_BE_EMPTY) {
      if (!present.has(t)) continue;
      const r = rowsOf<{ n: boolean }>(await tx.execute(sql`select exists (select 1 from ${sql.identifier(t)}) as n`))[0];
      if (r?.n) throw new RestoreError(`the database is not empty (table ${t} has rows); restore only into a freshly migrated database`);
    }
    const rows: Record<string, number> = {};
    for (const t of BACKUP_TABLES) {
      const data = file.tables[t];
      if (!data) continue;
      if (!present.has(t)) {
        if (data.rows.length) throw new RestoreError(`table ${t} is in the backup but not in this database (run migrate first / newer backup?)`);
        continue;
      }
      const cols = await columnsOf(tx, t);
      const names = new Set(cols.map((c) => c.name));
      const missing = data.columns.filter((c) => !names.has(c));
      if (missing.length && data.rows.length) throw new RestoreError(`table ${t}: columns ${missing.join(", ")} of the backup don't exist here`);
      // Tables a fresh migrate seeded (e.g. a default tariff) are replaced by the backup's rows.
      if (!MUST_BE_EMPTY.has(t) && data.rows.length) await tx.execute(sql`delete from ${sql.identifier(t)}`);
      const use = cols.filter((c) => data.columns.includes(c.name));
      const list = sql.join(use.map((c) => sql.identifier(c.name)), sql`, `);
      const overriding = use.some((c) => c.identity) ? sql` overriding system value` : sql``;
      for (let i = 0; i < data.rows.length; i += CHUNK) {
        const chunk = JSON.stringify(data.rows.slice(i, i + CHUNK));
        await tx.execute(
          sql`insert into ${sql.identifier(t)} (${list})${overriding} select ${list} from jsonb_populate_recordset(null::${sql.identifier(t)}, ${chunk}::jsonb)`,
        );
      }
      for (const c of use.filter((x) => x.identity)) {
        await tx.execute(
          sql`select setval(pg_get_serial_sequence(${t}, ${c.name}), greatest(coalesce((select max(${sql.identifier(c.name)}) from ${sql.identifier(t)}), 0), 1))`,
        );
      }
      rows[t] = data.rows.length;
    }
    const after = await totals(tx, present);
    if (after.balance_micros !== file.totals.balance_micros || after.ledger_micros !== file.totals.ledger_micros || after.reserved_micros !== file.totals.reserved_micros) {
      throw new RestoreError(`restored totals differ from the backup's (balance ${after.balance_micros} vs ${file.totals.balance_micros}); rolled back`);
    }
    return { rows, totals: { rows, ...after } };
  });
}
