import type { Opts } from "./args.js";
import type { AdminOps } from "./ops.js";

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  env: Record<string, string | undefined>;
  /** Interactive confirmation; absent (scripts, tests) = not interactive. */
  confirm?: (question: string) => Promise<boolean>;
  readStdin?: () => Promise<string>;
}

/** What a command gets: its options, the terminal, the operations and one printer (human or --json). */
export interface Ctx {
  o: Opts;
  io: CliIo;
  ops: AdminOps;
  currency: string;
  /** Label of the database for backup files. */
  databaseKind: "postgres" | "pglite";
  out(human: string | string[], json: unknown): void;
}

export type Command = (ctx: Ctx) => Promise<void>;
