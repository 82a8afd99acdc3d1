import assert from "node:assert/strict";
import { test } from "node:test";
import { PassthroughTap } from "../../src/proxy/passthrough-tap.js";

const ev = (seq: number, delta: string) => `event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", sequence_number: seq, delta })}\n\n`;

test("a chunk holding the frame that goes past the hold: the frames before it still go out, the numbering stops at the last one sent", () => {
  const tap = new PassthroughTap(20);
  const first = ev(0, "one two three");
  assert.equal(tap.push(Buffer.from(first)).toString(), first, "under the limit: the chunk as it came");
  // Half a frame, then the rest of it with more frames in one chunk (as TCP coalesces them).
  const second = ev(1, " four five");
  const big = ev(2, " word".repeat(200));
  assert.equal(tap.push(Buffer.from(second.slice(0, 30))).toString(), second.slice(0, 30));
  const out = tap.push(Buffer.from(second.slice(30) + big + ev(3, " after")));
  assert.equal(out, second.slice(30), "the end of the frame begun before, nothing from the frame that went over");
  assert.equal(tap.stopped, true);
  assert.equal(tap.lastSequence, 1);
  assert.equal(tap.push(Buffer.from(ev(4, "x"))), "");
});

test("usage is read from response.completed, with cached and reasoning tokens", () => {
  const tap = new PassthroughTap(null);
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 6, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 16 };
  tap.push(Buffer.from(`event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", sequence_number: 9, response: { usage } })}\n\n`));
  assert.deepEqual(tap.usage, { promptTokens: 10, completionTokens: 6, totalTokens: 16, estimated: false, cachedTokens: 4, reasoningTokens: 2 });
  assert.equal(tap.lastSequence, 9);
});

test("first content (the time to first token) is the first delta, not the response envelope that names its text format", () => {
  const tap = new PassthroughTap(null);
  tap.push(Buffer.from(`event: response.created\ndata: ${JSON.stringify({ type: "response.created", sequence_number: 0, response: { text: { format: { type: "text" } } } })}\n\n`));
  assert.equal(tap.sawContent, false);
  tap.push(Buffer.from(ev(1, "Hi")));
  assert.equal(tap.sawContent, true);
});
