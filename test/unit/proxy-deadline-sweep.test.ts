import { test } from "node:test";
import assert from "node:assert/strict";
import { DeadlineSweep } from "../../src/proxy/deadline-sweep.js";

test("a deadline fires once when its time has passed, a cancelled one never, and the sweep stops when empty", () => {
  let now = 1_000;
  const sweep = new DeadlineSweep(250, () => now);
  const fired: string[] = [];
  sweep.add(500, () => fired.push("a"));
  const b = sweep.add(500, () => fired.push("b"));
  sweep.add(2_000, () => fired.push("c"));
  sweep.cancel(b);
  now = 1_499;
  sweep.sweep();
  assert.deepEqual(fired, []);
  now = 1_500;
  sweep.sweep();
  sweep.sweep();
  assert.deepEqual(fired, ["a"]);
  assert.equal(sweep.size, 1);
  now = 3_000;
  sweep.sweep();
  assert.deepEqual(fired, ["a", "c"]);
  assert.equal(sweep.size, 0);
});

test("an expiry that throws does not stop the others", () => {
  let now = 0;
  const sweep = new DeadlineSweep(250, () => now);
  const fired: number[] = [];
  sweep.add(1, () => {
    throw new Error("boom");
  });
  sweep.add(1, () => fired.push(2));
  now = 10;
  sweep.sweep();
  assert.deepEqual(fired, [2]);
});
