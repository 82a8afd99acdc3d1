import { test } from "node:test";
import assert from "node:assert/strict";
import { counted, promptTokens, promptTokensNow } from "../../src/proxy/prompt-count.js";
import { countPromptTokens } from "../../src/proxy/tokenizer.js";

test("a big prompt is counted off the event loop to the same figure as in place, once per body", async () => {
  const body = { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Привет, the quick brown fox. ".repeat(800) }] };
  assert.equal(promptTokensNow(body), null, "too big to count in place");
  const p = promptTokens(body);
  assert.equal(promptTokens(body), p, "start and end of a stream share one count");
  assert.equal(await p, countPromptTokens(body));
  assert.deepEqual(counted, { inWorker: 1, onLoop: 0 }, "the worker thread counted it (not the fallback on the loop)");
});

test("a small prompt is counted in place", async () => {
  const body = { messages: [{ role: "user", content: "hello there" }] };
  assert.equal(promptTokensNow(body), countPromptTokens(body));
  assert.equal(await promptTokens(body), countPromptTokens(body));
});

test("a big prompt is tokenized in the worker thread: the event loop keeps turning meanwhile", async () => {
  // ≈ 1 MB of unique text: about a second of tokenizing, were it done on this thread.
  const body = { messages: [{ role: "user", content: `${Date.now()} ${"the quick brown fox jumps over the lazy dog ".repeat(24_000)}` }] };
  let maxGap = 0;
  let last = performance.now();
  const iv = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 5);
  const n = await promptTokens(body);
  clearInterval(iv);
  assert.equal(n, countPromptTokens(body));
  assert.ok(maxGap < 400, `the event loop stalled ${maxGap.toFixed(0)} ms`);
  // Counted once: the same text in another body is remembered.
  assert.equal(promptTokensNow({ messages: [{ role: "user", content: body.messages[0]!.content }] }), n);
});

test("two bodies with the same big text at once (two turns of one conversation): the text is counted once", async () => {
  const text = `${Date.now()} ${"a conversation resent with every turn ".repeat(1_000)}`;
  const before = counted.inWorker;
  const a = { messages: [{ role: "user", content: text }] };
  const b = { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: text }] };
  const [na, nb] = await Promise.all([promptTokens(a), promptTokens(b)]);
  assert.equal(na, countPromptTokens(a));
  assert.equal(nb, countPromptTokens(b));
  assert.equal(counted.inWorker - before, 1, "one job for the worker, the second body waited for it");
});
