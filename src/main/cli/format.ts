import type { KeyView } from "../../accounts/api-keys.js";
import type { KeyUsage } from "./ops.js";

export function describeLimits(l: Record<string, unknown>): string {
  const parts: string[] = [];
  const n = (v: unknown) => (typeof v === "number" ? v.toLocaleString("en-US") : String(v));
  if (l.total_tokens != null) parts.push(`${n(l.total_tokens)} tokens`);
  if (l.daily_tokens != null) parts.push(`${n(l.daily_tokens)} tokens/day`);
  if (l.weekly_tokens != null) parts.push(`${n(l.weekly_tokens)} tokens/week`);
  if (l.monthly_tokens != null) parts.push(`${n(l.monthly_tokens)} tokens/month`);
  if (l.total_money != null) parts.push(`${l.total_money} spend`);
  if (l.daily_money != null) parts.push(`${l.daily_money}/day`);
  if (l.weekly_money != null) parts.push(`${l.weekly_money}/week`);
  if (l.monthly_money != null) parts.push(`${l.monthly_money}/month`);
  return parts.length ? parts.join(", ") : "no limit";
}

export function keyLines(k: KeyView, usage?: KeyUsage): string[] {
  const lines = [`${k.key}  ${k.id}  [${k.status}]`, `   account: ${k.account_id}   name: ${k.name || "-"}`, `   limit: ${describeLimits(k.limits)}`];
  if (k.allowed_models) lines.push(`   models: ${k.allowed_models.join(", ")}`);
  if (k.expires_at) lines.push(`   expires: ${k.expires_at}`);
  if (usage) lines.push(`   usage: ${usage.requests} requests, ${usage.tokens.toLocaleString("en-US")} tokens, ${usage.spent} spent`);
  return lines;
}

export function syncLine(r: Record<string, number>): string {
  return `price sync: ${r.seen} models seen, ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.held} held for review, ${r.pinned} pinned`;
}

export function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x), 2);
}
