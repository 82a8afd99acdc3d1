/** What a limit counts. */
export type LimitKind = "requests" | "tokens" | "concurrency";

/** Whose budget a limit is. */
export type LimitScope = "key" | "account" | "global_model" | "global_provider" | "global";

/** One limit that applies to one request, e.g. "this key: 30 requests per 60 s". */
export interface Check {
  /** Named in 429 details as `limit_source`, e.g. `key_rpm`, `account_tpm`, `global_model_concurrency`. */
  source: string;
  scope: LimitScope;
  kind: LimitKind;
  /** Storage key without the store's prefix, e.g. `k:key_abc:r`. */
  key: string;
  /** ≥ 1 (a limit of 0 is "off" and never becomes a check). */
  limit: number;
  /** Sliding window for requests/tokens; ignored for concurrency. */
  windowMs: number;
  /** 1 for requests and concurrency; the token estimate for tokens. */
  cost: number;
  /** The limit is large enough to be leased (leases.ts): its key may carry leases, which count as taken. */
  leased?: boolean;
}

/** One key's lease settlement and renewal (see LEASE_LUA). */
export interface LeaseEntry {
  key: string;
  kind: LimitKind;
  limit: number;
  windowMs: number;
  /** Member base of the lease being settled (null: none); its weight in Redis is `grant`. */
  old: string | null;
  grant: number;
  /** What the old lease really covered (requests/tokens; a concurrency block is dropped). */
  settle: number;
  /** Member base of the new lease. */
  next: string;
  /** Units the new lease must cover whatever the room (open requests, uncounted carry). */
  base: number;
  /** Units wanted on top of `base`. */
  ask: number;
}

export interface LeaseReply {
  /** Units of the new lease, `base` included (0 = no new lease). */
  granted: number;
  /** Units everybody else's entries and leases take. */
  others: number;
  /** When less than asked was granted: ms until room frees. */
  waitMs: number;
}

export type AdmitResult =
  | { ok: true; used: number[] }
  /** `failed` indexes the binding check (the one whose wait is longest). */
  | { ok: false; failed: number; retryAfterMs: number; used: number[] };

/** A fix-up after the request: correct a token entry or free a concurrency slot. */
export type SettleEntry =
  | { kind: "tokens"; key: string; id: string; estimated: number; actual: number }
  | { kind: "concurrency"; key: string; id: string };

/**
 * Where counters live. Both stores implement the same semantics: a sliding-window log per
 * requests/tokens limit (entries scored by admission time, a window is (now − window, now]) and a set
 * of leases per concurrency limit (scored by lease expiry, so a dead process's slots run out).
 */
export interface LimitStore {
  readonly kind: "redis" | "memory";
  /** All checks are tested and, only if every one passes, all are taken: all or nothing, atomically. */
  admit(checks: readonly Check[], id: string, now: number, leaseMs: number): Promise<AdmitResult>;
  /** Fix-ups of any number of requests in one call (the limiter batches done() calls per tick). */
  settle(entries: readonly SettleEntry[]): Promise<void>;
  /** Pushes the lease expiry of still-open requests to `until`; released leases are not revived. */
  renew(leases: ReadonlyArray<{ key: string; id: string }>, until: number, leaseMs: number): Promise<void>;
  /** Current usage per check, without taking anything. */
  peek(checks: readonly Check[], now: number): Promise<number[]>;
}
