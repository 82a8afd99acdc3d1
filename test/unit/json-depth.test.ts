import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonDepthExceeds } from "../../src/http/body-limits.js";

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

test("depth limit: exactly the limit passes, one more fails, whether or not the bracket count decides it", () => {
  assert.equal(jsonDepthExceeds(nested(64), 64), false, "64 brackets: decided by the count alone");
  assert.equal(jsonDepthExceeds(nested(65), 64), true);
  // Many shallow brackets (more than the limit): the scan runs and finds them shallow.
  const wide = JSON.stringify({ messages: Array.from({ length: 200 }, () => ({ role: "user", content: [{ type: "text", text: "x" }] })) });
  assert.equal(jsonDepthExceeds(wide, 64), false);
  assert.equal(jsonDepthExceeds(`{"a":${nested(64)}}`, 64), true);
  // Brackets inside strings never count as nesting.
  assert.equal(jsonDepthExceeds(JSON.stringify({ s: "[".repeat(500) }), 64), false);
  assert.equal(jsonDepthExceeds(`{"s":"\\"[[[","t":${nested(3)}}`, 3), true);
});
