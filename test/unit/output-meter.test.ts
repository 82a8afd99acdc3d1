import assert from "node:assert/strict";
import { test } from "node:test";
import { OutputMeter } from "../../src/proxy/output-meter.js";
import { countTokens } from "../../src/proxy/tokenizer.js";

const frame = (content: string) => JSON.stringify({ choices: [{ index: 0, delta: { content } }] });

test("a reported count at or above the running count is checked without tokenizing the output again", () => {
  const parts = ["Hel", "lo", " wor", "ld", "!", " The", " quick", " brown", " fox"];
  const meter = new OutputMeter(null, undefined, true);
  for (const p of parts) assert.ok(meter.add(frame(p)));
  const running = meter.tokens();
  const joined = countTokens(parts.join(""));
  assert.ok(running >= joined, "each frame counted on its own is an upper bound");
  assert.equal(meter.deliveredFor(null), joined, "no report: the joined count is what is billed");
  assert.equal(meter.deliveredFor(running), running, "a report that covers the running count needs no second pass");
  assert.equal(meter.deliveredFor(running - 1), joined, "a lower report is checked against the exact joined count");
});
