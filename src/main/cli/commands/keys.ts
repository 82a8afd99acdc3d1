import { maskKey, KEY_PREFIX } from "../../../keys/index.js";
import { csv, limitsFrom, need } from "../args.js";
import type { Command } from "../context.js";
import { describeLimits, keyLines } from "../format.js";
import { CliError, usage } from "../ops.js";

/**
 * `create-key --limit N --name N` with no `--account` is the single-step form of the first CLI
 * design: it opens an account of that name (zero balance) and issues its first key.
 */
export const createKey: Command = async (ctx) => {
  const limits = limitsFrom(ctx.o);
  const scopes = csv(ctx.o.scopes);
  const models = csv(ctx.o.models);
  let expiresAt: Date | null = null;
  if (ctx.o.expires) {
    expiresAt = new Date(ctx.o.expires);
    if (Number.isNaN(expiresAt.getTime())) throw usage("--expires must be a date such as 2026-12-31 or an ISO timestamp");
  }
  if (scopes?.some((s) => s !== "inference" && s !== "manage")) throw usage("--scopes: inference and/or manage");
  if (!ctx.o.account?.trim() && !ctx.o.name?.trim()) throw usage("missing --account (or --name to open a new account for the key)");
  let accountId = ctx.o.account?.trim();
  let opened: string | null = null;
  if (!accountId) {
    accountId = (await ctx.ops.createAccount({ name: need(ctx.o, "name") })).account.id;
    opened = accountId;
  }
  const created = await ctx.ops.createKey({ accountId, name: ctx.o.name ?? "", limits, allowedModels: models ?? null, expiresAt, scopes });
  ctx.out(
    [
      ...(opened ? [`account ${opened} created for "${ctx.o.name}" (balance 0)`] : []),
      `key ${created.id} created for ${accountId} (limit: ${describeLimits(limits)})`,
      "",
      `  ${created.key}`,
      "",
      "Store it now: it is shown only this once.",
    ],
    { id: created.id, key: created.key, account_id: accountId, account_created: opened !== null, limits },
  );
};

export const listKeys: Command = async (ctx) => {
  const accountId = ctx.o.account;
  const stats = !!ctx.o.stats;
  const res = await ctx.ops.listKeys({ accountId, stats });
  const keys = ctx.o.all ? res.keys : res.keys.filter((k) => k.status !== "revoked");
  const usageOf = (id: string) => res.usage.get(id) ?? { requests: 0, tokens: 0, spent: "0.00" };
  const tokenLimits = keys.map((k) => k.limits.total_tokens).filter((v): v is number => typeof v === "number");
  const used = keys.reduce((s, k) => s + usageOf(k.id).tokens, 0);
  const summary = {
    keys: keys.length,
    active: keys.filter((k) => k.status === "active").length,
    total_token_limit: tokenLimits.reduce((s, v) => s + v, 0),
    average_token_limit: tokenLimits.length ? Math.round(tokenLimits.reduce((s, v) => s + v, 0) / tokenLimits.length) : null,
    tokens_used: used,
  };
  const lines = [`${keys.length} key(s)${accountId ? ` of ${accountId}` : ""}:`, ""];
  for (const k of keys) lines.push(...keyLines(k, stats ? usageOf(k.id) : undefined));
  if (stats) {
    const avg = summary.average_token_limit !== null ? `, average ${summary.average_token_limit.toLocaleString("en-US")}` : "";
    lines.push("", `total: ${summary.keys} keys (${summary.active} active), token limits ${summary.total_token_limit.toLocaleString("en-US")}${avg}, used ${used.toLocaleString("en-US")} tokens`);
  }
  ctx.out(lines, { data: keys.map((k) => ({ ...k, ...(stats ? { usage: usageOf(k.id) } : {}) })), ...(stats ? { summary } : {}) });
};

export const setLimit: Command = async (ctx) => {
  const ref = need(ctx.o, "key");
  const patch = limitsFrom(ctx.o);
  if (!Object.keys(patch).length) throw usage("give at least one of --limit, --daily-limit, --weekly-limit, --monthly-limit, --spend-limit");
  const k = await ctx.ops.setLimit(ref, patch);
  ctx.out(`key ${k.id} (${k.key}): limit ${describeLimits(k.limits)}`, k);
};

export const revokeKey: Command = async (ctx) => {
  const ref = need(ctx.o, "key");
  if (!ctx.o.force) {
    const ok = ctx.io.confirm ? await ctx.io.confirm(`Revoke key ${ref.startsWith(KEY_PREFIX) ? maskKey(ref) : ref}? It stops working at once. [y/N] `) : false;
    if (!ok) throw new CliError(ctx.io.confirm ? "not revoked" : "refusing to revoke without --force (not interactive)", ctx.io.confirm ? 1 : 2);
  }
  const k = await ctx.ops.revokeKey(ref);
  ctx.out(`key ${k.id} (${k.key}) revoked`, k);
};
