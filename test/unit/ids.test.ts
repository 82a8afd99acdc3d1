import assert from "node:assert/strict";
import { test } from "node:test";
import { newId, newRequestId, randomBase62 } from "../../src/core/ids.js";

test("ids from the pooled random buffer keep their shape and stay distinct across refills", () => {
  const seen = new Set<string>();
  // 20 characters take ~21 bytes: 2,000 ids run through the 4 KiB buffer about ten times.
  for (let i = 0; i < 2000; i++) {
    const id = newId("ledger");
    assert.match(id, /^led_[0-9A-Za-z]{20}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 2000);
  // Every base62 character turns up: nothing in the sampling is stuck.
  assert.equal(new Set([...seen].join("").replaceAll("led_", "")).size, 62);
});

test("secrets' base62 and request ids keep their shapes", () => {
  assert.match(randomBase62(32), /^[0-9A-Za-z]{32}$/);
  assert.match(newRequestId(), /^req_[0-9a-f]{32}$/);
});
