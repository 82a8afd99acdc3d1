import type { Logger } from "../core/logger.js";

/**
 * Queues items and POSTs them in batches off the request path: every `intervalMs` or when
 * `maxBatch` items are waiting. A receiver that fails loses that batch (telemetry is best effort,
 * never a reason to slow or fail a request) and is logged once per outage, not per batch.
 */
export class BatchSender<T> {
  private queue: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly name: string,
    private readonly send: (batch: T[]) => Promise<Response>,
    private readonly logger: Logger,
    private readonly opts: { intervalMs?: number; maxBatch?: number; maxQueued?: number } = {},
  ) {}

  push(item: T): void {
    if (this.queue.length >= (this.opts.maxQueued ?? 10_000)) return;
    this.queue.push(item);
    if (this.queue.length >= (this.opts.maxBatch ?? 100)) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.opts.intervalMs ?? 1000);
      this.timer.unref();
    }
  }

  /** Sends everything queued now; resolves when the receiver answered (or failed). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return this.inflight;
    this.inflight = this.inflight.then(async () => {
      try {
        const r = await this.send(batch);
        await r.arrayBuffer().catch(() => undefined);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        if (this.failing) this.logger.info({ exporter: this.name }, "telemetry exporter recovered");
        this.failing = false;
      } catch (e) {
        if (!this.failing) this.logger.warn({ exporter: this.name, err: (e as Error).message, dropped: batch.length }, "telemetry exporter failed; dropping batches until it recovers");
        this.failing = true;
      }
    });
    return this.inflight;
  }
}
