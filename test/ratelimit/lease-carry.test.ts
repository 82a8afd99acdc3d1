import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { systemClock } from "../../src/core/clock.js";
import { LocalLeases } from "../../src/ratelimit/leases.js";
import type { RedisLimitStore } from "../../src/ratelimit/redis-store.js";
import type { Check, LeaseEntry, LeaseReply } from "../../src/ratelimit/types.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A lease store that grants what is asked and can hold its answers back, so a test decides what
 * happens while a sync is out. It refuses entries the Redis script would skip (its spec parser
 * reads non-negative integers only), as the script's silently shifted replies did.
 */
function fakeStore() {
  const calls: LeaseEntry[][] = [];
  let gate: Promise<void> | null = null;
  let open: (() => void) | null = null;
  const store = {
    async lease(entries: readonly LeaseEntry[]): Promise<LeaseReply[]> {
      calls.push([...entries]);
      for (const e of entries)
        for (const f of ["limit", "windowMs", "grant", "settle", "base", "ask"] as const)
          if (!Number.isInteger(e[f]) || e[f] < 0) throw new Error(`entry ${e.key}: ${f} = ${e[f]}`);
      if (gate) await gate;
      return entries.map((e) => ({ granted: e.base + e.ask, others: 0, waitMs: 0 }));
    },
  };
  return {
    store: store as unknown as RedisLimitStore,
    calls,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = null;
      open?.();
    },
  };
}

const check = (kind: Check["kind"], cost: number): Check => ({
  source: `key_${kind}`,
  scope: "key",
  kind,
  key: `k:test:${kind[0]}`,
  limit: kind === "tokens" ? 100_000_000 : 1_000_000,
  windowMs: 60_000,
  cost,
  leased: true,
});

describe("local leases: what a lease counts stays a whole non-negative number", () => {
  it("token estimates corrected down while a sync is out do not turn the carry negative (the lease keeps admitting)", async () => {
    const f = fakeStore();
    const errors: unknown[] = [];
    const leases = new LocalLeases(f.store, systemClock, 60_000, (e) => errors.push(e), () => true);
    try {
      const checks = () => [check("requests", 1), check("tokens", 300), check("concurrency", 1)];
      const held = [];
      for (let i = 0; i < 8; i++) held.push(await leases.admit(checks()));
      assert.ok(held.every((h) => h.res.ok));
      // The next tick's sync stays out; meanwhile every estimate is corrected to 0 tokens.
      f.hold();
      const before = f.calls.length;
      while (f.calls.length === before) await sleep(5);
      for (const h of held) h.done(0);
      f.release();
      await sleep(250);
      for (let i = 0; i < 40; i++) {
        const a = await leases.admit(checks());
        assert.ok(a.res.ok, `admission ${i} refused`);
        assert.ok(a.res.used.every((u) => Number.isInteger(u) && u >= 0), `used ${a.res.used.join(",")}`);
        a.done(0);
      }
      await sleep(250);
      assert.deepEqual(errors, []);
    } finally {
      leases.close();
    }
  });
});
