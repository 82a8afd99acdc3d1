import type { KeyView } from "../../accounts/api-keys.js";
import type { platformStats } from "../../accounts/admin-stats.js";
import type { BackupFile } from "../../accounts/backup.js";

/**
 * What the CLI can do to a gateway, independent of how: `local-ops.ts` works on the database with the
 * domain verbs, `remote-ops.ts` through a running gateway's admin API. Commands parse arguments, call
 * one of these and print; they never know which side they talk to.
 */
export interface AdminOps {
  readonly where: "local" | "remote";
  migrate(): Promise<void>;
  createAccount(input: NewAccount): Promise<CreatedAccount>;
  createUser(input: NewUser): Promise<UserOut>;
  setUser(userId: string, patch: { role?: Role; status?: "active" | "blocked" }): Promise<UserOut>;
  createKey(input: NewKey): Promise<{ id: string; key: string }>;
  listKeys(q: { accountId?: string; stats: boolean }): Promise<{ keys: KeyView[]; usage: Map<string, KeyUsage> }>;
  /** Merges `patch` into the key's limits (null removes one). */
  setLimit(ref: string, patch: Record<string, unknown>): Promise<KeyOut>;
  revokeKey(ref: string): Promise<KeyOut>;
  credit(input: { accountId: string; amount: string; reason: string; ref: string }): Promise<CreditOut>;
  stats(): Promise<PlatformStats>;
  syncPrices(body: unknown): Promise<Record<string, number>>;
  /** Local only (a dump of the database itself); remote refuses with a usage error. */
  backup(label: string): Promise<BackupFile>;
  restore(doc: unknown): Promise<{ rows: Record<string, number>; totals: { balance_micros: string } }>;
}

export type Role = "client" | "admin";
export type PlatformStats = Awaited<ReturnType<typeof platformStats>>;
export interface NewAccount {
  name: string;
  balance?: string;
  tariffId?: string;
  user?: { email: string; password?: string; role: Role };
}
export interface NewUser {
  accountId: string;
  email: string;
  password: string;
  role: Role;
  name?: string;
}
export interface NewKey {
  accountId: string;
  name: string;
  limits: Record<string, unknown>;
  allowedModels: string[] | null;
  expiresAt: Date | null;
  scopes?: string[];
}
export interface UserOut {
  id: string;
  account_id?: string;
  email?: string | null;
  role: string;
  status?: string;
}
export interface CreatedAccount {
  account: { id: string; name: string; balance: string; currency?: string };
  user: UserOut | null;
}
export interface KeyOut {
  id: string;
  key: string;
  status: string;
  limits: Record<string, unknown>;
}
export interface KeyUsage {
  requests: number;
  tokens: number;
  spent: string;
}
export interface CreditOut {
  account_id: string;
  amount: string;
  balance: string;
  currency: string;
  ref: string;
  entry_id: string;
  applied: boolean;
  duplicate: boolean;
}

/** A failed command: exit code 1 (refused, not found, remote error) or 2 (usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const usage = (m: string) => new CliError(m, 2);
