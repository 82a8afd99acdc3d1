import type { AuthContext } from "../contracts/request.js";
import type { Check } from "./types.js";

/** Requests and tokens per window, and concurrent requests; 0 = no limit. */
export interface LimitTriple {
  rpm: number;
  tpm: number;
  concurrency: number;
}

/** The limiter's settings, from env (see rateLimitSettingsFromEnv). */
export interface RateLimitSettings {
  /** Sliding window of every requests/tokens limit, unless a tariff or key overrides it. */
  windowSeconds: number;
  /** Defaults per key (RATE_LIMIT_REQUESTS/_TOKENS/_CONCURRENCY); tariff then key override them. */
  key: LimitTriple;
  /** Defaults per account (RATE_LIMIT_ACCOUNT_*); the tariff's account_* fields override them. */
  account: LimitTriple;
  /** Per model, across all keys and accounts. */
  model: LimitTriple;
  /** Per provider, across all keys and accounts. */
  provider: LimitTriple;
  /** The whole gateway. */
  global: LimitTriple;
  /** Concurrency lease length; open requests renew it every leaseMs/3, a crashed process's slots expire. */
  leaseMs: number;
  /** While Redis is down each process enforces ceil(limit / processes), so N processes stay near one limit. */
  processes: number;
  /**
   * Large limits are decided in each process against leased shares of their budget (leases.ts),
   * exact across processes within one share each; default true. False: one Redis call per request.
   */
  localLeases?: boolean;
}

/**
 * The rate-limit override shape, stored as jsonb by billing (tariffs.rate_limits) and keys
 * (api_keys.rate_limits). Every field optional; absent = inherit, 0 = no limit.
 */
export interface RateLimitOverrides {
  rpm?: number;
  tpm?: number;
  concurrency?: number;
  window_seconds?: number;
  /** Tariff only: limits of the whole account (all its keys together). */
  account_rpm?: number;
  account_tpm?: number;
  account_concurrency?: number;
}

const FIELDS = ["rpm", "tpm", "concurrency", "window_seconds", "account_rpm", "account_tpm", "account_concurrency"] as const;
const EMPTY: RateLimitOverrides = Object.freeze({});

// AuthContext objects are cached per key by the verifier, so parsing once per object is enough.
const parsed = new WeakMap<object, RateLimitOverrides>();

/** Reads the jsonb leniently: unknown fields and values that are not non-negative integers are ignored. */
export function parseOverrides(raw: Record<string, unknown> | null | undefined): RateLimitOverrides {
  if (!raw || typeof raw !== "object") return EMPTY;
  const hit = parsed.get(raw);
  if (hit) return hit;
  const out: RateLimitOverrides = {};
  for (const f of FIELDS) {
    const v = raw[f];
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n === "number" && Number.isSafeInteger(n) && n >= 0) {
      if (f === "window_seconds" && n === 0) continue;
      out[f] = n;
    }
  }
  parsed.set(raw, out);
  return out;
}

export interface EffectiveLimits {
  key: LimitTriple & { windowSeconds: number };
  account: LimitTriple & { windowSeconds: number };
}

/** Per field: key override, else tariff, else env default. Account limits: tariff account_*, else env. */
export function effectiveLimits(settings: RateLimitSettings, auth: Pick<AuthContext, "keyRateLimits" | "tariffRateLimits">): EffectiveLimits {
  const k = parseOverrides(auth.keyRateLimits);
  const t = parseOverrides(auth.tariffRateLimits);
  const d = settings.key;
  const tariffWindow = t.window_seconds ?? settings.windowSeconds;
  return {
    key: {
      rpm: k.rpm ?? t.rpm ?? d.rpm,
      tpm: k.tpm ?? t.tpm ?? d.tpm,
      concurrency: k.concurrency ?? t.concurrency ?? d.concurrency,
      windowSeconds: k.window_seconds ?? tariffWindow,
    },
    account: {
      rpm: t.account_rpm ?? settings.account.rpm,
      tpm: t.account_tpm ?? settings.account.tpm,
      concurrency: t.account_concurrency ?? settings.account.concurrency,
      windowSeconds: tariffWindow,
    },
  };
}

function pushTriple(
  out: Check[],
  scope: Check["scope"],
  prefix: string,
  keyBase: string,
  l: LimitTriple,
  windowMs: number,
  tokens: number,
): void {
  if (l.rpm > 0) out.push({ source: `${prefix}_rpm`, scope, kind: "requests", key: `${keyBase}:r`, limit: l.rpm, windowMs, cost: 1 });
  if (l.tpm > 0) out.push({ source: `${prefix}_tpm`, scope, kind: "tokens", key: `${keyBase}:t`, limit: l.tpm, windowMs, cost: tokens });
  if (l.concurrency > 0)
    out.push({ source: `${prefix}_concurrency`, scope, kind: "concurrency", key: `${keyBase}:c`, limit: l.concurrency, windowMs, cost: 1 });
}

export interface CheckTarget {
  auth: Pick<AuthContext, "keyId" | "accountId" | "keyRateLimits" | "tariffRateLimits">;
  model: string | null;
  providerId: string | null;
  estimatedTokens: number;
}

// The key's and account's checks depend on the (cached, per key) auth object only: built once per object.
const ownChecks = new WeakMap<object, { settings: RateLimitSettings; checks: readonly Check[] }>();

function keyAndAccountChecks(settings: RateLimitSettings, auth: CheckTarget["auth"]): readonly Check[] {
  const hit = ownChecks.get(auth);
  if (hit && hit.settings === settings) return hit.checks;
  const eff = effectiveLimits(settings, auth);
  const checks: Check[] = [];
  pushTriple(checks, "key", "key", `k:${auth.keyId}`, eff.key, eff.key.windowSeconds * 1000, 0);
  pushTriple(checks, "account", "account", `a:${auth.accountId}`, eff.account, eff.account.windowSeconds * 1000, 0);
  ownChecks.set(auth, { settings, checks });
  return checks;
}

/** Every limit that applies to one request, in a fixed order (key, account, model, provider, global). */
export function buildChecks(settings: RateLimitSettings, t: CheckTarget): Check[] {
  const tokens = t.estimatedTokens;
  const gwin = settings.windowSeconds * 1000;
  const out: Check[] = [];
  for (const c of keyAndAccountChecks(settings, t.auth)) {
    out.push({ source: c.source, scope: c.scope, kind: c.kind, key: c.key, limit: c.limit, windowMs: c.windowMs, cost: c.kind === "tokens" ? tokens : 1 });
  }
  if (t.model) pushTriple(out, "global_model", "global_model", `m:${t.model}`, settings.model, gwin, tokens);
  if (t.providerId) pushTriple(out, "global_provider", "global_provider", `p:${t.providerId}`, settings.provider, gwin, tokens);
  pushTriple(out, "global", "global", "g", settings.global, gwin, tokens);
  return out;
}

/** Go-style duration as OpenAI sends it in x-ratelimit-reset-*: "20ms", "1s", "6m0s", "1h0m0s", "1.5s". */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const sMs = total % 60_000;
  const s = sMs % 1000 === 0 ? String(sMs / 1000) : (sMs / 1000).toFixed(3).replace(/0+$/, "");
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
