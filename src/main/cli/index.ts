import { createInterface } from "node:readline/promises";
import { ConfigError, loadEnv, type Env } from "../../config/env.js";
import { openDatabase, type Database } from "../../db/client.js";
import { parse } from "./args.js";
import { createAccount, createUser, setUser } from "./commands/accounts.js";
import { credit } from "./commands/credit.js";
import { backup, migrate, restore, stats, syncPrices } from "./commands/data.js";
import { createKey, listKeys, revokeKey, setLimit } from "./commands/keys.js";
import type { CliIo, Command, Ctx } from "./context.js";
import { stringify } from "./format.js";
import { localOps } from "./local-ops.js";
import { CliError } from "./ops.js";
import { remoteOps } from "./remote-ops.js";

export type { CliIo } from "./context.js";
export { CliError } from "./ops.js";

/**
 * `npx llm-gateway <command>`: operate a gateway from the shell. Works directly on the gateway's
 * database (DATABASE_URL, or PGlite in DATA_DIR) or, with --url and --admin-token, through a
 * running gateway's admin API. Exit codes: 0 ok, 1 failed (not found, refused, remote error),
 * 2 usage error.
 */
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
  create-key --account A [--name N] [--limit TOKENS] [--daily-limit TOKENS] [--weekly-limit TOKENS]
             [--monthly-limit TOKENS] [--spend-limit MONEY] [--models m1,m2] [--expires ISO-DATE]
             [--scopes inference,manage]
  create-key --name N [--limit TOKENS] ...    without --account: opens an account named N for the key
  list-keys [--account A] [--all] [--stats]   --stats: token limits, usage and totals
  set-limit --key K [--limit TOKENS|none] [--daily-limit ..] [--weekly-limit ..] [--monthly-limit ..] [--spend-limit MONEY|none]
  revoke-key --key K [--force]       K = key id, the full secret, or its shown prefix

Data
  stats                              platform totals
  backup --path FILE [--without-request-logs]
                                     consistent JSON dump of every table (keys as hashes, upstream keys encrypted)
  restore --path FILE                into an EMPTY migrated database; balances reproduced exactly
  sync-prices [--path models.json]   refresh the price book from OpenRouter /models (or a saved response)

Options
  --json                             machine-readable output
  --database-url URL / --data-dir D  override DATABASE_URL / DATA_DIR
  --url URL --admin-token T          act through a running gateway's admin API (account, key, credit, stats commands)
  -h, --help

With PGlite (no DATABASE_URL) the data directory belongs to one process: stop the server, or use --url.
`;

const COMMANDS: Record<string, Command> = {
  migrate,
  "create-account": createAccount,
  "create-user": createUser,
  "set-user": setUser,
  "create-key": createKey,
  "list-keys": listKeys,
  "set-limit": setLimit,
  "revoke-key": revokeKey,
  credit,
  stats,
  backup,
  restore,
  "sync-prices": syncPrices,
};

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
    await import("../server.js");
    return await new Promise<number>(() => undefined);
  }
  const run = COMMANDS[cmd];
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
  const openDb = async () => {
    if (!database) {
      database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 2, pgliteSharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB });
      await database.migrate();
    }
    return database.db;
  };
  const json = !!o.json;
  const ctx: Ctx = {
    o,
    io,
    ops: url && token ? remoteOps(url, token) : localOps(env, openDb, { withoutRequestLogs: !!o["without-request-logs"] }),
    currency: env.BILLING_CURRENCY,
    databaseKind: env.DATABASE_URL ? "postgres" : "pglite",
    out(human, data) {
      io.stdout(json ? stringify(data) + "\n" : (Array.isArray(human) ? human.join("\n") : human) + "\n");
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
