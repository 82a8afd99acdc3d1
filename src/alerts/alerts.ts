import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";

/** What an operator is told about, without looking at a dashboard. */
export type AlertKind =
  | "upstream_balance_low"
  | "circuit_open"
  | "negative_margin"
  | "payment_anomaly"
  | "hold_released_after_output"
  | "price_changes_pending";

export interface Alert {
  kind: AlertKind;
  /** What the alert is about (an upstream account, a provider, a payment ref): one alert per kind + subject per repeat interval. */
  subject: string;
  text: string;
}

export interface SentAlert extends Alert {
  at: string;
  /** Sinks that accepted it. */
  delivered: string[];
}

/** One delivery channel (a Telegram chat, an e-mail address). */
export interface AlertSink {
  readonly name: string;
  send(a: Alert): Promise<void>;
}

export interface AlertSettings {
  /** The same kind + subject is delivered at most once per this many ms. */
  repeatMs: number;
}

/**
 * The operator's alert channel. `raise` never throws and never waits on delivery (a slow SMTP
 * server must not slow a request); failures are logged. The last 200 alerts are kept in memory.
 */
export class Alerts {
  private readonly last = new Map<string, number>();
  private readonly log: SentAlert[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly sinks: readonly AlertSink[],
    private readonly settings: AlertSettings,
    private readonly clock: Clock,
    private readonly logger?: Logger,
  ) {}

  get enabled(): boolean {
    return this.sinks.length > 0;
  }

  /** True when the alert was sent (false: the same one went out within the repeat interval). */
  raise(a: Alert): boolean {
    const key = `${a.kind}\u0000${a.subject}`;
    const now = this.clock.now();
    const prev = this.last.get(key);
    if (prev !== undefined && now - prev < this.settings.repeatMs) return false;
    this.last.set(key, now);
    if (this.last.size > 10_000) this.last.clear();
    const entry: SentAlert = { ...a, at: new Date(now).toISOString(), delivered: [] };
    this.log.push(entry);
    if (this.log.length > 200) this.log.shift();
    this.logger?.warn({ alert: a.kind, subject: a.subject }, a.text);
    for (const s of this.sinks) {
      const p = s
        .send(a)
        .then(() => void entry.delivered.push(s.name))
        .catch((e) => this.logger?.error({ sink: s.name, alert: a.kind, err: (e as Error).message }, "alert not delivered"))
        .finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
    return true;
  }

  recent(): readonly SentAlert[] {
    return this.log;
  }

  /** Resolves when every delivery started so far has finished (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
