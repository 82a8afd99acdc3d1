import { isPlausibleEmail } from "../../../accounts/users.js";
import { need, parseMoneyOpt, passwordFrom, role } from "../args.js";
import type { Command } from "../context.js";
import { usage } from "../ops.js";

export const createAccount: Command = async (ctx) => {
  const name = need(ctx.o, "name");
  const balance = ctx.o.balance;
  if (balance !== undefined) parseMoneyOpt(balance, "balance");
  const email = ctx.o.email?.trim();
  if (email !== undefined && !isPlausibleEmail(email)) throw usage("--email is not an email address");
  const pw = await passwordFrom(ctx.o, ctx.io.readStdin);
  const r = role(ctx.o.role);
  if ((pw || r) && !email) throw usage("--password/--role need --email (they create the account's first user)");
  const res = await ctx.ops.createAccount({ name, balance, tariffId: ctx.o.tariff, user: email ? { email, password: pw, role: r ?? "client" } : undefined });
  ctx.out([`account ${res.account.id} created (balance ${res.account.balance})`, ...(res.user ? [`user ${res.user.id} <${res.user.email}> role ${res.user.role}`] : [])], res);
};

export const createUser: Command = async (ctx) => {
  const accountId = need(ctx.o, "account");
  const email = need(ctx.o, "email");
  if (!isPlausibleEmail(email)) throw usage("--email is not an email address");
  const pw = await passwordFrom(ctx.o, ctx.io.readStdin);
  if (!pw) throw usage("missing --password (or --password-stdin)");
  const u = await ctx.ops.createUser({ accountId, email, password: pw, role: role(ctx.o.role) ?? "client", name: ctx.o.name });
  ctx.out(`user ${u.id} <${u.email ?? email}> role ${u.role}`, u);
};

export const setUser: Command = async (ctx) => {
  const userId = need(ctx.o, "user");
  const r = role(ctx.o.role);
  const st = ctx.o.status;
  if (st !== undefined && st !== "active" && st !== "blocked") throw usage("--status must be active or blocked");
  if (!r && !st) throw usage("nothing to change: give --role and/or --status");
  const u = await ctx.ops.setUser(userId, { role: r, status: st as "active" | "blocked" | undefined });
  ctx.out(`user ${u.id}: role ${u.role}, ${u.status}`, u);
};
