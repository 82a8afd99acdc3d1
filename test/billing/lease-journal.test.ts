import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LeaseJournal } from "../../src/billing/lease-journal.js";
import type { LeasedCharge } from "../../src/billing/lease-store.js";

const rec = (i: number): LeasedCharge => ({ rid: `req_${i}`, eid: `led_${i}`, acct: "acct_a", lease: "lse_a", key: null, charge: String(i), cost: "0", hold: String(i * 2) });

test("lease journal: concurrent appends share one write and sync, are on disk when they resolve, and the file goes once all are applied", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-lj-"));
  const j = new LeaseJournal(dir, "aaaa1", undefined);
  const segs = await Promise.all(Array.from({ length: 50 }, (_, i) => j.append(rec(i))));
  assert.equal(new Set(segs).size, 1, "one segment");
  assert.equal(j.syncs, 1, "fifty records of one tick: one fdatasync");
  // Records arriving while a sync is in flight share the next one.
  const more = Array.from({ length: 30 }, (_, i) => j.append(rec(100 + i)));
  const late = j.append(rec(200));
  await Promise.all([...more, late]);
  assert.ok(j.syncs <= 3, `${j.syncs} syncs for 31 more records`);
  const seg = segs[0]!;
  assert.equal(seg.pending, 81);
  // Another process (a later start) sees nothing of a live journal.
  assert.equal(LeaseJournal.recover(dir).records.length, 0, "a live journal is not replayed");
  for (let i = 0; i < 80; i++) j.applied(seg);
  j.close();
  assert.equal(readdirSync(dir).length, 1, "one record not yet applied: the file stays for the next start");
  const r = LeaseJournal.recover(dir);
  assert.equal(r.records.length, 81);
  assert.equal(r.gone.length, 1);
  assert.equal(r.gone[0]!.tag, "aaaa1");
  LeaseJournal.discard(r.files);
  assert.equal(readdirSync(dir).length, 0);

  const k = new LeaseJournal(dir, "aaaa2", undefined);
  const s2 = await k.append(rec(1));
  k.applied(s2);
  k.close();
  assert.equal(readdirSync(dir).length, 0, "everything applied: nothing left behind");
});

test("lease journal: a dead process's torn last line is skipped, the rest replayed (newest per request id)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-lj-"));
  // A pid that cannot be running (above the kernel's pid_max).
  const path = join(dir, "lease-99999999-deadbe-0.jsonl");
  writeFileSync(path, `${JSON.stringify(rec(1))}\n${JSON.stringify(rec(2))}\n`);
  appendFileSync(path, `${JSON.stringify(rec(3)).slice(0, 20)}`);
  writeFileSync(join(dir, "unrelated.txt"), "x");
  const r = LeaseJournal.recover(dir);
  assert.deepEqual(r.records.map((x) => x.rid).sort(), ["req_1", "req_2"]);
  assert.deepEqual(r.gone, [{ pid: 99999999, tag: "deadbe" }]);
  LeaseJournal.discard(r.files);
  assert.ok(!existsSync(path));
  assert.ok(existsSync(join(dir, "unrelated.txt")));
});

test("lease journal with a sync period: append resolves once written (a crash keeps it), the fdatasync follows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-lj-"));
  const j = new LeaseJournal(dir, "aaaa3", undefined, 50);
  await Promise.all([j.append(rec(1)), j.append(rec(2))]);
  assert.equal(j.syncs, 0, "nothing waited for the disk");
  assert.equal(readFileSync(join(dir, readdirSync(dir)[0]!), "utf8").split("\n").filter(Boolean).length, 2, "both written before append resolved");
  await new Promise((r) => setTimeout(r, 120));
  assert.ok(j.syncs >= 1, "synced within the period");
  // One record after another, across several sync periods: none waits for a sync.
  const t0 = Date.now();
  for (let i = 0; i < 200; i++) {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise((_, no) => (timer = setTimeout(() => no(new Error(`append ${i} waited`)), 1000)));
    await Promise.race([j.append(rec(10 + i)), waited]).finally(() => clearTimeout(timer));
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.ok(Date.now() - t0 < 5000);
  j.close();
});

test("lease journal: a stream's settlement beats its progress records in any file order; without one the newest bound is replayed", () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-lj-"));
  const prog = (rid: string, charge: number): LeasedCharge => ({ t: "p", rid, eid: `led_${rid}_${charge}`, acct: "acct_a", lease: "lse_a", key: null, charge: String(charge), cost: "0", hold: "100", pt: 1, ct: charge });
  const settle = (rid: string, charge: number): LeasedCharge => ({ rid, eid: `led_${rid}`, acct: "acct_a", lease: "lse_a", key: null, charge: String(charge), cost: "0", hold: "100" });
  // pid 2147483646: a process that is not running. Segment "-10" is newer than "-2" (a string sort says otherwise).
  const line = (r: LeasedCharge) => JSON.stringify(r) + "\n";
  writeFileSync(join(dir, "lease-2147483646-bbbb1-10.jsonl"), line(prog("req_s", 60)) + line(prog("req_c", 40)) + line(settle("req_z", 0)));
  writeFileSync(join(dir, "lease-2147483646-bbbb1-2.jsonl"), line(prog("req_s", 30)) + line(settle("req_s", 55)) + line(prog("req_c", 50)) + line(prog("req_z", 10)));
  const got = new Map(LeaseJournal.recover(dir).records.map((r) => [r.rid, r]));
  assert.equal(got.get("req_s")!.t, undefined, "settled: the settlement, not a later progress record");
  assert.equal(got.get("req_s")!.charge, "55");
  assert.deepEqual([got.get("req_c")!.t, got.get("req_c")!.charge], ["p", "40"], "cut: the newest bound (its prompt refined down since the older one)");
  assert.deepEqual([got.get("req_z")!.t, got.get("req_z")!.charge], [undefined, "0"], "released (a zero settlement): nothing charged");
});

test("lease journal: segments are removed oldest first, never one behind a segment still pending", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-lj-"));
  const j = new LeaseJournal(dir, "cccc1", undefined);
  // A record big enough that each batch fills a segment (4 MiB) and the next rotates.
  const big = (i: number): LeasedCharge => ({ ...rec(i), key: "k".repeat(4.2 * 1024 * 1024) });
  const s1 = await j.append(big(1));
  const s2 = await j.append(big(2));
  const s3 = await j.append(rec(3));
  assert.equal(new Set([s1, s2, s3]).size, 3, "three segments");
  j.applied(s2);
  assert.equal(readdirSync(dir).length, 3, "the second is done but the first still pending: both stay");
  j.applied(s1);
  assert.equal(readdirSync(dir).length, 1, "now both go, oldest first; the current one stays");
  j.applied(s3);
  j.close();
  assert.equal(readdirSync(dir).length, 0);
});

test("lease journal: close writes what was appended in its tick and refuses later appends", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-lj-"));
  const j = new LeaseJournal(dir, "ccccc1", undefined);
  const first = await j.append(rec(1));
  const same = j.append(rec(2));
  j.close();
  const seg = await same;
  assert.equal(seg, first, "written to the open segment before the file closed");
  await assert.rejects(j.append(rec(3)), /closed/);
  const r = LeaseJournal.recover(dir);
  assert.deepEqual(r.records.map((x) => x.rid).sort(), ["req_1", "req_2"]);
  LeaseJournal.discard(r.files);
});
