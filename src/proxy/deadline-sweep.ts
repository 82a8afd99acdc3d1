/**
 * One timer for every in-flight upstream call's total deadline, instead of a `setTimeout` (and an
 * AbortController) per request. The sweep runs once per `tickMs` while anything is registered, so a
 * deadline fires at most one tick late; total timeouts are minutes, a tick is a fraction of a second.
 */
export interface Deadline {
  readonly at: number;
  readonly expire: () => void;
}

export class DeadlineSweep {
  private readonly live = new Set<Deadline>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly tickMs = 250,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `expire` once `ms` from now unless the returned handle is cancelled first. */
  add(ms: number, expire: () => void): Deadline {
    const d: Deadline = { at: this.now() + ms, expire };
    this.live.add(d);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      this.timer.unref();
    }
    return d;
  }

  cancel(d: Deadline): void {
    this.live.delete(d);
    if (this.live.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  get size(): number {
    return this.live.size;
  }

  /** Fires every deadline that has passed (public so tests drive it with their own clock). */
  sweep(): void {
    const t = this.now();
    for (const d of this.live) {
      if (d.at > t) continue;
      this.cancel(d);
      try {
        d.expire();
      } catch {
        /* an expiry that throws must not stop the others */
      }
    }
  }
}
