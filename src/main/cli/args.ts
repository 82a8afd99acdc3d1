import { parseArgs } from "node:util";
import { passwordProblem } from "../../accounts/password.js";
import { parseMoney } from "../../core/money.js";
import { usage, type Role } from "./ops.js";

/** Every option any command takes (one table: `--help` and strict parsing read it). */
export const OPTIONS = {
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
  "weekly-limit": { type: "string" },
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
  "without-request-logs": { type: "boolean" },
} as const;

export type Opts = ReturnType<typeof parse>["values"];

export function parse(argv: string[]) {
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

export function need(o: Opts, name: keyof Opts): string {
  const v = o[name];
  if (typeof v !== "string" || !v.trim()) throw usage(`missing --${name}`);
  return v.trim();
}

export function parseTokens(v: string | undefined, flag: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === "none" || v === "null") return null;
  const s = v.replace(/[_,]/g, "");
  if (!/^\d{1,15}$/.test(s)) throw usage(`--${flag} must be a whole number of tokens (or "none")`);
  return Number(s);
}

export function parseMoneyOpt(v: string | undefined, flag: string): string | null | undefined {
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
export function limitsFrom(o: Opts): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined) out[k] = v;
  };
  put("total_tokens", parseTokens(o.limit, "limit"));
  put("daily_tokens", parseTokens(o["daily-limit"], "daily-limit"));
  put("weekly_tokens", parseTokens(o["weekly-limit"], "weekly-limit"));
  put("monthly_tokens", parseTokens(o["monthly-limit"], "monthly-limit"));
  put("total_money", parseMoneyOpt(o["spend-limit"], "spend-limit"));
  return out;
}

export function csv(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(",").map((s) => s.trim()).filter(Boolean);
}

export function role(v: string | undefined): Role | undefined {
  if (v === undefined) return undefined;
  if (v !== "client" && v !== "admin") throw usage("--role must be client or admin");
  return v;
}

export async function passwordFrom(o: Opts, readStdin: (() => Promise<string>) | undefined): Promise<string | undefined> {
  let pw = o.password;
  if (o["password-stdin"]) {
    if (!readStdin) throw usage("--password-stdin needs a pipe");
    pw = (await readStdin()).replace(/\r?\n$/, "");
  }
  if (pw !== undefined) {
    const p = passwordProblem(pw);
    if (p) throw usage(p);
  }
  return pw;
}
