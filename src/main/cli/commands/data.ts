import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { formatMoney } from "../../../core/money.js";
import { need } from "../args.js";
import type { Command } from "../context.js";
import { syncLine } from "../format.js";
import { CliError } from "../ops.js";

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

export const migrate: Command = async (ctx) => {
  await ctx.ops.migrate();
  ctx.out("migrations applied", { ok: true });
};

export const stats: Command = async (ctx) => {
  const s = await ctx.ops.stats();
  ctx.out(
    [
      `accounts: ${s.accounts.total} (${s.accounts.active} active)   users: ${s.users.total} (${s.users.admins} admins)   active keys: ${s.active_keys}`,
      `balances: ${s.balances.total} ${s.currency} (reserved ${s.balances.reserved})`,
      `requests: ${s.requests.total} (${s.requests.failed} failed), tokens in/out ${s.requests.prompt_tokens}/${s.requests.completion_tokens}`,
      `revenue ${s.revenue}, upstream cost ${s.upstream_cost}, profit ${s.profit}`,
    ],
    s,
  );
};

export const backup: Command = async (ctx) => {
  const path = need(ctx.o, "path");
  const file = await ctx.ops.backup(`llm-gateway cli (${ctx.databaseKind})`);
  // Password and key hashes inside: owner-only file, written atomically.
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(file, null, 1) + "\n", { mode: 0o600 });
  renameSync(tmp, path);
  const rows = Object.entries(file.totals.rows).map(([t, n]) => `${t} ${n}`).join(", ");
  const balance = formatMoney(BigInt(file.totals.balance_micros));
  const ledger = formatMoney(BigInt(file.totals.ledger_micros));
  ctx.out([`backup written to ${path}`, `rows: ${rows}`, `balances total ${balance} = ledger total ${ledger}`], { path, rows: file.totals.rows, balance_total: balance, ledger_total: ledger });
};

export const restore: Command = async (ctx) => {
  const path = need(ctx.o, "path");
  const r = await ctx.ops.restore(ctx.ops.where === "local" ? readJson(path) : null);
  const rows = Object.entries(r.rows).map(([t, n]) => `${t} ${n}`).join(", ");
  const balance = formatMoney(BigInt(r.totals.balance_micros));
  ctx.out([`restored from ${path}`, `rows: ${rows}`, `balances total ${balance}`], { path, rows: r.rows, balance_total: balance });
};

export const syncPrices: Command = async (ctx) => {
  const body = ctx.o.path && ctx.ops.where === "local" ? readJson(ctx.o.path) : undefined;
  const r = await ctx.ops.syncPrices(body);
  ctx.out(syncLine(r), r);
};
