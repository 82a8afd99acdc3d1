import type { Admission, AuthContext, LoggedEndpoint, PreparedBilling, RateLimitHooks, Reservation, ServedBy, SettleResult, TokenUsage } from "../contracts/request.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { RequestLogWriter } from "../logs/request-log-writer.js";
import type { TryRecord } from "../routing/fallback.js";
import { finishLog, pendingRow, type LogBase, type RequestStatus } from "./request-log.js";
import { checkUsage, type UsageAnomaly, type UsageBounds } from "./usage-check.js";

export interface MeteredDeps {
  rateLimit: RateLimitHooks;
  logs: RequestLogWriter;
  logger: Logger;
  clock: Clock;
}

export interface MeteredStart {
  requestId: string;
  auth: AuthContext;
  endpoint: LoggedEndpoint;
  /** The model id the rate limiter counts under. */
  modelId: string;
  /** What the log row names as requested (the client's model, or a pass-through path). */
  requestedModel: string;
  stream: boolean;
  startedAt: number;
  providerId: string | null;
  estimatedTokens: number;
  logMeta?: Record<string, unknown>;
}

export interface FinishInput {
  status: RequestStatus;
  served: ServedBy | null;
  /** Usage as reported by the upstream (or estimated locally); checked against the bounds here. */
  usage: TokenUsage | null;
  /** Local count of the output delivered to the client, when known (raises an under-report). */
  deliveredCompletion?: number | null;
  /** Local prompt count, asked for only when the upstream reports an empty prompt. */
  localPrompt?: (() => number) | null;
  ttftMs?: number | null;
  upstreamStatus?: number | null;
  errorCode?: string | null;
  cacheHit?: boolean;
  meta?: Record<string, unknown>;
}

/**
 * One billed request from admission to its log row: admits (rate limits), reserves (billing),
 * writes the pending row, and ends exactly once with `finish` — settle or release, release the
 * rate-limit admission with the real token count, write the final row. Every way a request can
 * end (answer, stream end, client gone, upstream failure, a throw anywhere) goes through finish.
 */
export class MeteredRequest {
  reservation: Reservation | null = null;
  attempts = 0;
  tries: TryRecord[] | null = null;
  bounds: UsageBounds = { promptTokens: null, outputTokens: null };
  private begun = false;
  private finished: Promise<SettleResult | null> | null = null;
  private readonly base: LogBase;

  private constructor(
    private readonly deps: MeteredDeps,
    private readonly start: MeteredStart,
    private readonly admission: Admission,
  ) {
    this.base = {
      id: start.requestId,
      accountId: start.auth.accountId,
      apiKeyId: start.auth.keyId,
      endpoint: start.endpoint,
      requestedModel: start.requestedModel,
      stream: start.stream,
      startedAt: start.startedAt,
      meta: start.logMeta,
    };
  }

  /** Takes a rate-limit slot (throws 429). Stateless refusals must have run before this. */
  static async admit(deps: MeteredDeps, start: MeteredStart): Promise<MeteredRequest> {
    const admission = await deps.rateLimit.admit({
      requestId: start.requestId,
      auth: start.auth,
      model: start.modelId,
      providerId: start.providerId,
      estimatedTokens: start.estimatedTokens,
    });
    return new MeteredRequest(deps, start, admission);
  }

  get requestId(): string {
    return this.start.requestId;
  }

  /** Holds the money (when `prepared` is given) and writes the pending row. On a refusal the admission is given back. */
  async reserve(prepared: PreparedBilling | null, input: { promptTokens: number; requestedMaxTokens: number | null; choices?: number; holdTtlMs?: number; stream?: boolean }): Promise<void> {
    try {
      if (prepared) this.reservation = await prepared.reserve({ requestId: this.start.requestId, ...input });
    } catch (e) {
      void this.finish({ status: "failed", served: null, usage: null });
      throw e;
    }
    this.begin();
  }

  /** Writes the pending row (reserve does; a request that holds nothing calls it directly). */
  begin(): void {
    if (this.begun || this.finished) return;
    this.begun = true;
    this.deps.logs.begin(pendingRow(this.base));
  }

  /** x-ratelimit-* and billing headers for the response. */
  headers(): Record<string, string> {
    return this.reservation ? { ...this.admission.headers, ...this.reservation.headers } : this.admission.headers;
  }

  /** Ends the request; later calls return the first call's result. Never throws. */
  finish(o: FinishInput): Promise<SettleResult | null> {
    this.finished ??= this.doFinish(o);
    return this.finished;
  }

  get isFinished(): boolean {
    return this.finished !== null;
  }

  private async doFinish(o: FinishInput): Promise<SettleResult | null> {
    let usage = o.usage;
    let anomaly: UsageAnomaly | null = null;
    if (usage) {
      const checked = checkUsage(usage, this.bounds, o.deliveredCompletion ?? null, o.localPrompt ?? null);
      if (checked.anomaly) anomaly = checked.anomaly;
      usage = checked.usage;
    }
    let settled: SettleResult | null = null;
    let billingError: string | undefined;
    const res = this.reservation;
    try {
      if (res) {
        if (usage && o.served && (usage.totalTokens > 0 || usage.upstreamCostUsd)) {
          if (res.quote(usage, o.served).priceMicros > res.holdMicros) anomaly ??= "charge_above_hold";
          settled = await res.settle(usage, o.served);
        } else await res.release();
      }
    } catch (e) {
      // The hold stays open; the sweeper settles it from the log row.
      billingError = (e as Error).message;
      this.deps.logger.error({ requestId: this.start.requestId, err: billingError }, "settlement failed; hold left for the sweeper");
    }
    this.admission.done(usage?.totalTokens ?? 0);
    if (anomaly) {
      this.deps.logger.warn({ requestId: this.start.requestId, anomaly, reported: o.usage }, "upstream usage not believed as reported");
    }
    if (!this.begun) return settled;
    const meta: Record<string, unknown> = {};
    if (billingError) meta.billing_error = billingError;
    if (this.tries) meta.tries = this.tries;
    if (settled?.margin) meta.margin = settled.margin;
    if (anomaly && o.usage) meta.reported_usage = { prompt_tokens: o.usage.promptTokens, completion_tokens: o.usage.completionTokens, cost: o.usage.upstreamCostUsd };
    Object.assign(meta, o.meta);
    finishLog(this.deps.logs, this.base, {
      status: o.status,
      served: o.served,
      usage,
      settled,
      completedAt: this.deps.clock.now(),
      ttftMs: o.ttftMs,
      upstreamStatus: o.upstreamStatus,
      errorCode: o.errorCode,
      attempts: this.attempts,
      cacheHit: o.cacheHit,
      usageAnomaly: anomaly,
      meta: Object.keys(meta).length ? meta : undefined,
    });
    return settled;
  }
}
