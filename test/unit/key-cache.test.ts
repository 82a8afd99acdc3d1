import assert from "node:assert/strict";
import { test } from "node:test";
import type { Db } from "../../src/db/client.js";
import { KeyVerifier } from "../../src/keys/verify.js";

/** A database that answers every key lookup with an active key named after the call, and counts the calls. */
function fakeDb(): { db: Db; calls: () => number; release: () => void; hold: () => void } {
  let n = 0;
  let gate: Promise<void> | null = null;
  let open: () => void = () => undefined;
  const row = () => ({
    key: { id: `key_${n}`, accountId: "acct_1", userId: null, status: "active", expiresAt: null, previousExpiresAt: new Date(8.64e15), keyHash: "h", scopes: [], allowedModels: null, ipAllowlist: null, limits: null, rateLimits: null, options: {} },
    account: { status: "active", limits: null, tariffId: null },
    userStatus: null,
  });
  const chain: Record<string, unknown> = {};
  for (const m of ["select", "from", "innerJoin", "leftJoin", "where"]) chain[m] = () => chain;
  chain.limit = async () => {
    n++;
    if (gate) await gate;
    return [row()];
  };
  return {
    db: chain as unknown as Db,
    calls: () => n,
    hold: () => {
      gate = new Promise((r) => (open = r));
    },
    release: () => {
      gate = null;
      open();
    },
  };
}

test("a key in use is reloaded in the background before its verdict expires: no request waits for the database", async () => {
  let t = 1_000_000;
  const f = fakeDb();
  const v = new KeyVerifier({ db: f.db, clock: { now: () => t }, ttlMs: 10_000 });
  assert.ok((await v.verify("sk-gw-one")).ok);
  assert.equal(f.calls(), 1);
  t += 5_000;
  await v.verify("sk-gw-one");
  assert.equal(f.calls(), 1, "fresh: served from the cache");
  // In the last tenth of the TTL the verdict is served at once and reloaded behind it.
  t += 4_500;
  f.hold();
  const r = await v.verify("sk-gw-one");
  assert.ok(r.ok);
  assert.equal(f.calls(), 2, "one background reload");
  await v.verify("sk-gw-one");
  assert.equal(f.calls(), 2, "not twice");
  f.release();
  await new Promise((res) => setImmediate(res));
  t += 9_000;
  await v.verify("sk-gw-one");
  assert.equal(f.calls(), 2, "the reload renewed the verdict: still cached 18.5 s after the first load");
});

test("when the cache is full the least recently loaded key goes, not a hot one", async () => {
  let t = 1_000_000;
  const f = fakeDb();
  const v = new KeyVerifier({ db: f.db, clock: { now: () => t }, ttlMs: 1000, maxEntries: 3 });
  for (const k of ["a", "b", "c"]) await v.verify(`sk-gw-${k}`);
  assert.equal(f.calls(), 3);
  t += 1000; // everything expired: "a" is loaded again and becomes the youngest
  await v.verify("sk-gw-a");
  assert.equal(f.calls(), 4);
  await v.verify("sk-gw-d"); // evicts "b", the oldest load
  assert.equal(f.calls(), 5);
  await v.verify("sk-gw-a");
  assert.equal(f.calls(), 5, "a is still cached");
  await v.verify("sk-gw-b");
  assert.equal(f.calls(), 6, "b was evicted");
});
