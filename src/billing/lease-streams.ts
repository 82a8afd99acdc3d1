/**
 * Streams admitted on a balance lease have no hold row to carry their crash bound: their progress
 * goes to the lease journal instead (LeaseBook.progress), priced like the sweeper prices a hold's
 * progress — the snapshot's dearest route (the served one is not known to a replay), never above
 * the stream's hold. The stream-progress writer asks `owns` which of its streams are leased.
 */
import type { LeaseBook, LeaseHold } from "./lease.js";
import { priceUsage, type HoldSnapshot } from "./price-plan.js";
import type { LeasedProgressSink } from "./stream-progress.js";

interface LeasedStream {
  hold: LeaseHold;
  keyId: string | null;
  snapshot: HoldSnapshot;
  holdMicros: bigint;
}

export class LeasedStreams implements LeasedProgressSink {
  private readonly live = new Map<string, LeasedStream>();

  constructor(private readonly book: LeaseBook) {}

  get size(): number {
    return this.live.size;
  }

  open(requestId: string, s: LeasedStream): void {
    this.live.set(requestId, s);
  }

  /** The stream is settling or released: no more progress for it. */
  close(requestId: string): boolean {
    return this.live.delete(requestId);
  }

  owns(requestId: string): boolean {
    return this.live.has(requestId);
  }

  async write(items: ReadonlyArray<{ id: string; p: number; c: number }>): Promise<void> {
    await Promise.all(
      items.map((it) => {
        const s = this.live.get(it.id);
        if (!s) return undefined;
        const p = priceUsage(s.snapshot, { promptTokens: it.p, completionTokens: it.c, totalTokens: 0, estimated: true }, null, 0);
        const price = p.priceMicros > s.holdMicros ? s.holdMicros : p.priceMicros;
        return this.book.progress(s.hold, it.id, s.keyId, price, p.costMicros, it.p, it.c);
      }),
    );
  }
}
