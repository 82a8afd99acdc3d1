/**
 * The request-path billing hooks: reserve → (settle | release), with quote() for stream usage.
 * Money checks run in PostgreSQL only (never Redis): one function call to reserve, one (shared
 * by concurrent requests, see settle-queue.ts) to settle.
 */
import type { Clock } from "../core/clock.js";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { formatMoney } from "../core/money.js";
import type { Db } from "../db/client.js";
import type {
  AuthContext,
  BillingHooks,
  PreparedBilling,
  PrepareInput,
  Reservation,
  ReserveInput,
  ServedBy,
  SettleResult,
  TokenUsage,
} from "../contracts/request.js";
import { BillingConfig, type BillingSnapshot, type TariffInfo } from "./config-cache.js";

export { effectiveLimits } from "./prepare.js";
import { releaseHold, reserveHold, reserveHolds, settleHold, settleHolds, type ReserveCall, type ReserveOutcome, type SettleCall, type SettleOutcome } from "./holds.js";
import type { MarginEvent, MarginRule } from "./margin.js";
import { buildPlan, priceUsage, type HoldSnapshot, type PricePlan } from "./price-plan.js";
import { holdMicros, promptHoldMicros } from "./pricing.js";
import { counterSpecs, PeriodClock } from "./quotas.js";
import { effectiveLimits, holdTerms, refuseStateless, upstreamCap, type AuthBilling, type HoldTerms } from "./prepare.js";
import { GroupCommit } from "./settle-queue.js";
import { ensureBillingDefaults, type BillingDefaults } from "./defaults.js";
import { LeaseBook, type LeaseHold, type LeaseSettings } from "./lease.js";
import { LeasedStreams } from "./lease-streams.js";
import type { LeasedProgressSink } from "./stream-progress.js";

const MAX_TOKENS_HEADER = "x-gateway-max-tokens";

/** Billing's slice of the settings (mapped from Env in main/settings.ts). */
export interface BillingSettings extends BillingDefaults {
  cacheTtlMs: number;
  timezone: string;
  settleBatch: number;
  /** Hold for a model without a price (BILLING_UNPRICED_HOLD); null refuses such models. */
  unpricedHoldMicros: bigint | null;
  /** Already at least the longest request plus a minute, so the sweeper never releases a hold in use. */
  holdTtlMs: number;
  marginRule: MarginRule;
  defaultMaxTokens: number;
  minMaxTokens: number;
  /** Balance leases (BILLING_LEASE=on); null = every request holds and settles in the database. */
  lease: LeaseSettings | null;
}

export interface BillingDeps {
  db: Db;
  settings: BillingSettings;
  clock: Clock;
  logger?: Logger;
  /** Told of every settled request the margin guard flagged (metrics, operator alerts). */
  onMargin?: (e: MarginEvent) => void;
}

export interface BillingService extends BillingHooks {
  config: BillingConfig;
  periods: PeriodClock;
  /** Start-up work (SQL functions, default tariff, first FX rate); begun by createBilling, awaited by reserve and the billing routes. */
  ready(): Promise<void>;
  /** The tariff's `rate_limits` jsonb (for the key verifier's AuthContext); the default tariff's when the id is unknown. */
  tariffRateLimits(tariffId: string | null): Promise<Record<string, unknown> | null>;
  /** The operator's per-request price of a model nobody priced (BILLING_UNPRICED_HOLD; demo mode's), null = such models are refused. */
  readonly unpricedPriceMicros: bigint | null;
  /** Waits until every settlement submitted so far is committed. */
  flush(): Promise<void>;
  /** Holds and settlements waiting in the group-commit queues (metrics). */
  queueDepth(): { holds: number; settlements: number };
  /** Drains settlements; afterwards settle() writes directly and reserve() refuses (shutdown). */
  close(): Promise<void>;
  /** Where the progress of streams admitted on a lease is recorded (null without leases). */
  readonly leasedStreams: LeasedProgressSink | null;
}

export function createBilling(deps: BillingDeps): BillingService {
  const { db, settings, clock, logger } = deps;
  const config = new BillingConfig(db, {
    currency: settings.currency,
    defaultRateMicros: settings.usdRateMicros,
    defaultMarkupPpm: settings.defaultMarkupPpm,
    ttlMs: settings.cacheTtlMs,
    clock,
  });
  const periods = new PeriodClock(settings.timezone);
  // Group commit for both round-trips: concurrent requests share database calls (see settle-queue.ts).
  const holdsQ = new GroupCommit<ReserveCall, ReserveOutcome>(
    { one: (c) => reserveHold(db, c), many: (cs) => reserveHolds(db, cs), key: (c) => c.requestId },
    settings.settleBatch,
    logger,
    "billing reserve",
  );
  const queue = new GroupCommit<SettleCall, SettleOutcome>(
    { one: (c) => settleHold(db, c), many: (cs) => settleHolds(db, cs), key: (c) => c.requestId },
    settings.settleBatch,
    logger,
    "billing settle",
  );
  const unpricedHold = settings.unpricedHoldMicros;
  const holdTtlMs = settings.holdTtlMs;
  let readyP: Promise<void> | null = null;
  const book = settings.lease ? new LeaseBook(db, settings.lease, holdTtlMs, () => performance.now(), logger) : null;
  const streams = book ? new LeasedStreams(book) : null;
  const ready = () =>
    (readyP ??= (async () => {
      await ensureBillingDefaults(db, settings);
      // Charges a dead predecessor answered but had not applied reach the ledger before anything else.
      await book?.recover();
    })().catch((e) => {
      readyP = null;
      throw e;
    }));
  // Begin at once so the first request doesn't pay for it; failures surface on the first await.
  void ready().catch((e) => logger?.warn({ err: (e as Error).message }, "billing: start-up setup failed; will retry"));
  let closed = false;

  const authCache = new WeakMap<AuthContext, AuthBilling>();
  const planCache = new Map<string, PricePlan>();
  let planVersion = -1;

  function authBilling(snap: BillingSnapshot, auth: AuthContext): AuthBilling {
    const hit = authCache.get(auth);
    if (hit && hit.version === snap.version) return hit;
    const e = effectiveLimits(snap, auth);
    const ab = { version: snap.version, tariff: e.tariff, keyLimits: e.keyLimits, accountLimits: e.accountLimits };
    authCache.set(auth, ab);
    return ab;
  }

  function planFor(snap: BillingSnapshot, tariff: TariffInfo, input: PrepareInput): PricePlan {
    if (planVersion !== snap.version) {
      planCache.clear();
      planVersion = snap.version;
    }
    const fallbacks = (input.fallbacks ?? []).map((f) => f.model);
    let key = tariff.id;
    for (const m of [input.model, ...fallbacks]) {
      key += `\u0002${m.id}\u0000${m.maxOutput ?? ""}`;
      for (const r of m.routes) key += `\u0000${r.providerId}\u0001${r.upstreamModel}\u0001${r.price ? `${r.price.inputMicrosPerM}/${r.price.outputMicrosPerM}/${r.price.cachedInputMicrosPerM ?? ""}/${r.price.cacheWriteMicrosPerM ?? ""}/${r.price.reasoningMicrosPerM ?? ""}` : ""}`;
    }
    let plan = planCache.get(key);
    if (!plan) {
      plan = buildPlan(snap, tariff, input.model, unpricedHold, settings.marginRule, fallbacks);
      if (planCache.size > 10_000) planCache.clear();
      planCache.set(key, plan);
    }
    return plan;
  }

  function refusal(out: Exclude<ReserveOutcome, { ok: true }>, promptTokens: number, plan: PricePlan, terms: HoldTerms, currency: string): AppError {
    if (out.reason !== "rejected") {
      if (out.reason === "blocked") return new AppError("account_blocked", "This account is blocked.");
      if (out.reason === "duplicate") return new AppError("conflict", "A request with this id is already being billed.");
      return new AppError("forbidden", "The account of this key does not exist.");
    }
    const details = { limit_source: out.source, limit_type: out.kind };
    if (out.source === "balance") {
      const avail = formatMoney(out.availableMicros > 0n ? out.availableMicros : 0n);
      let msg = `Insufficient balance: ${avail} ${currency} available`;
      if (terms.fixed !== null && plan.snapshot.routes.size > 0) {
        msg += `, this request can cost up to ${formatMoney(holdMicros(promptTokens, terms.fixed, plan.rates))} ${currency}`;
        const perChoice = out.affordableMaxTokens !== null ? Math.floor(out.affordableMaxTokens / terms.choices) : 0;
        if (perChoice > 0) msg += ` (lower max_tokens to ${perChoice}${terms.choices > 1 ? ` per choice` : ""} or top up)`;
      }
      return new AppError("insufficient_quota", `${msg}.`, { details });
    }
    const [scope, period] = out.source.split("_");
    return new AppError("quota_exceeded", `The ${scope}'s ${period} ${out.kind} limit does not cover this request.`, { details });
  }

  async function prepare(input: PrepareInput): Promise<PreparedBilling> {
    if (closed) throw new AppError("service_unavailable", "The gateway is shutting down.");
    await ready();
    const snap = await config.get();
    const ab = authBilling(snap, input.auth);
    const plan = planFor(snap, ab.tariff, input);
    refuseStateless(input, ab, plan, unpricedHold !== null);
    return { reserve: (r) => hold({ ...input, ...r }, snap, ab, plan) };
  }

  async function hold(input: ReserveInput, snap: BillingSnapshot, ab: AuthBilling, plan: PricePlan): Promise<Reservation> {
    if (closed) throw new AppError("service_unavailable", "The gateway is shutting down.");
    const priced = plan.snapshot.routes.size > 0;
    const terms = holdTerms(input, plan.maxOutput, { defaultMaxTokens: settings.defaultMaxTokens, minMaxTokens: settings.minMaxTokens });
    const promptTokens = Math.max(0, Math.floor(input.promptTokens || 0));
    const keys = periods.keys(clock.now());
    const counters = counterSpecs(input.auth.keyId, ab.keyLimits, input.auth.accountId, ab.accountLimits, keys);
    const outNum = priced ? plan.rates.outNum : 0n;
    // Output that costs nothing to hold (free output, or an unpriced model's fixed hold) and that no
    // token quota watches is not bounded: the client's request goes upstream unchanged.
    const unbounded = terms.fixed === null && outNum === 0n && !counters.some((c) => c.limit.tokens !== null);
    const fixed = unbounded ? 0 : terms.fixed;
    const promptHold = priced ? promptHoldMicros(promptTokens, plan.rates) : unpricedHold!;
    // Leased admission: requests of accounts no quota window watches, whose lifetime fits the
    // lease's (a stream's crash bound then goes to the lease journal, lease-streams.ts).
    if (book && counters.length === 0 && (input.holdTtlMs ?? 0) <= holdTtlMs) {
      const mt = fixed ?? terms.cap;
      const need = promptHold + (BigInt(mt) * outNum + 999_999_999_999_999_999n) / 1_000_000_000_000_000_000n;
      const lh = await book.admit(input.auth.accountId, need);
      if (lh) {
        const perChoice = unbounded || input.endpoint === "embeddings" ? null : upstreamCap(terms, mt, input.stream === true);
        const covered = unbounded || input.endpoint === "embeddings" ? null : mt;
        if (input.stream === true) streams!.open(input.requestId, { hold: lh, keyId: input.auth.keyId, snapshot: plan.snapshot, holdMicros: need });
        return new HoldReservation(input.requestId, input.auth.accountId, plan.snapshot, perChoice, need, covered, { hold: lh, keyId: input.auth.keyId });
      }
    }
    const out = await holdsQ.submit({
      requestId: input.requestId,
      accountId: input.auth.accountId,
      keyId: input.auth.keyId,
      model: input.model.id,
      promptTokens,
      promptHoldMicros: promptHold,
      outNum,
      fixedMaxTokens: fixed,
      cap: terms.cap,
      min: terms.min,
      counters,
      ttlMs: Math.max(holdTtlMs, input.holdTtlMs ?? 0),
      snapshot: plan.snapshotJson,
    });
    if (!out.ok) throw refusal(out, promptTokens, plan, terms, snap.currency);
    const perChoice = unbounded || input.endpoint === "embeddings" ? null : upstreamCap(terms, out.maxTokens, input.stream === true);
    const covered = unbounded || input.endpoint === "embeddings" ? null : out.maxTokens;
    return new HoldReservation(input.requestId, input.auth.accountId, plan.snapshot, perChoice, out.holdMicros, covered);
  }

  async function reserve(input: ReserveInput): Promise<Reservation> {
    return (await prepare(input)).reserve(input);
  }

  class HoldReservation implements Reservation {
    readonly headers: Record<string, string>;
    private outcome: Promise<SettleResult> | null = null;
    private released: Promise<void> | null = null;
    constructor(
      readonly requestId: string,
      readonly accountId: string,
      readonly snapshot: HoldSnapshot,
      readonly maxTokens: number | null,
      readonly holdMicros: bigint,
      readonly outputTokens: number | null,
      private readonly leased: { hold: LeaseHold; keyId: string | null } | null = null,
    ) {
      this.headers = maxTokens !== null ? { [MAX_TOKENS_HEADER]: String(maxTokens) } : {};
    }

    quote(usage: TokenUsage, served: ServedBy): SettleResult {
      const p = priceUsage(this.snapshot, usage, served.providerId, served.discountBp, served);
      return { upstreamCostMicros: p.costMicros, priceMicros: p.priceMicros, costDisplay: formatMoney(p.priceMicros) };
    }

    settle(usage: TokenUsage, served: ServedBy): Promise<SettleResult> {
      this.outcome ??= this.doSettle(usage, served);
      return this.outcome;
    }

    private async doSettle(usage: TokenUsage, served: ServedBy): Promise<SettleResult> {
      const p = priceUsage(this.snapshot, usage, served.providerId, served.discountBp, served);
      // Never more than the hold: what a lying upstream reports (or an upstream that ignored
      // max_tokens delivered) beyond it is not the client's to pay. The overdraft bound is zero.
      const price = p.priceMicros > this.holdMicros ? this.holdMicros : p.priceMicros;
      if (price < p.priceMicros) logger?.warn({ requestId: this.requestId, price: p.priceMicros.toString(), hold: this.holdMicros.toString() }, "billing: usage priced above its hold; charged the hold");
      if (this.leased && book) {
        // The lease reserved the whole hold, so the balance covers the charge: no shortfall on this path.
        streams?.close(this.requestId);
        await book.settle(this.leased.hold, this.requestId, this.leased.keyId, price, p.costMicros);
        if (p.margin) deps.onMargin?.({ requestId: this.requestId, accountId: this.accountId, providerId: served.providerId, flag: p.margin, priceMicros: price, costMicros: p.costMicros, profitMicros: price - p.costMicros });
        return { upstreamCostMicros: p.costMicros, priceMicros: price, costDisplay: formatMoney(price), margin: p.margin };
      }
      const o = await queue.submit({
        requestId: this.requestId,
        accountId: this.accountId,
        priceMicros: price,
        upstreamCostMicros: p.costMicros,
        totalTokens: p.usage.total,
        promptTokens: Number(p.usage.prompt),
        completionTokens: Number(p.usage.completion),
        providerId: served.providerId,
      });
      if (o.status === "not_found" || o.status === "released" || o.status === "conflict") {
        logger?.error({ requestId: this.requestId, status: o.status }, "billing: settle found no open hold");
      } else if (o.shortfallMicros > 0n) {
        logger?.warn({ requestId: this.requestId, shortfall: o.shortfallMicros.toString() }, "billing: usage exceeded what the balance covers");
      }
      if (p.margin) {
        deps.onMargin?.({ requestId: this.requestId, accountId: this.accountId, providerId: served.providerId, flag: p.margin, priceMicros: o.chargedMicros, costMicros: p.costMicros, profitMicros: o.chargedMicros - p.costMicros });
      }
      return { upstreamCostMicros: p.costMicros, priceMicros: o.chargedMicros, costDisplay: formatMoney(o.chargedMicros), margin: p.margin };
    }

    release(): Promise<void> {
      if (this.outcome) return this.outcome.then(() => undefined);
      if (this.leased && book) {
        if (this.released) return this.released;
        if (streams?.close(this.requestId)) {
          // A stream's progress records are superseded by a zero settlement, so no replay charges them.
          this.released = book.settle(this.leased.hold, this.requestId, this.leased.keyId, 0n, 0n);
        } else {
          book.release(this.leased.hold);
          this.released = Promise.resolve();
        }
        return this.released;
      }
      this.released ??= releaseHold(db, this.requestId).then(() => undefined);
      return this.released;
    }
  }

  return {
    prepare,
    reserve,
    config,
    periods,
    ready,
    tariffRateLimits: async (tariffId) => {
      const snap = await config.get();
      const t = (tariffId ? snap.tariffs.get(tariffId) : undefined) ?? snap.defaultTariff;
      return Object.keys(t.rateLimits).length ? t.rateLimits : null;
    },
    unpricedPriceMicros: unpricedHold,
    leasedStreams: streams,
    flush: async () => {
      await queue.flush();
      await book?.flush();
    },
    queueDepth: () => ({ holds: holdsQ.pending, settlements: queue.pending + (book?.pending ?? 0) }),
    close: async () => {
      closed = true;
      await holdsQ.close();
      await queue.close();
      await book?.close();
    },
  };
}
