import assert from "node:assert/strict";
import { test } from "node:test";
import { OutputMeter } from "../../src/proxy/output-meter.js";
import { countTokens } from "../../src/proxy/o200k-count.js";

const frame = (content: string) => JSON.stringify({ choices: [{ index: 0, delta: { content } }] });

/** Splits a text into frames of `size` code points (an emoji or a CJK character never split). */
function pieces(text: string, size: number): string[] {
  const cps = [...text];
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(""));
  return out;
}

test("a reported count at or above the running bound is checked without tokenizing the output", () => {
  const parts = ["Hel", "lo", " wor", "ld", "!", " The", " quick", " brown", " fox"];
  const meter = new OutputMeter(null);
  for (const p of parts) assert.ok(meter.add(frame(p)));
  const running = meter.bound();
  const joined = countTokens(parts.join(""));
  assert.equal(running, Buffer.byteLength(parts.join("")), "no limit in reach: the bound is the bytes, nothing tokenized");
  assert.ok(running >= joined);
  assert.equal(meter.deliveredFor(running), running, "a report that covers the bound needs no count");
  assert.equal(meter.deliveredTokens(), joined);
});

test("no report, or one under one token per 8 bytes: the joined text is counted once (a promise), never above the bound", async () => {
  const parts = ["Hel", "lo", " wor", "ld", " and", " a", " few", " more", " words", " here"];
  const meter = new OutputMeter(null);
  for (const p of parts) meter.add(frame(p));
  const joined = countTokens(parts.join(""));
  assert.equal(await meter.deliveredFor(null), joined);
  assert.equal(await meter.deliveredFor(0), joined, "{0, 0} for streamed words is raised to what was delivered");
  assert.equal(await meter.deliveredFor(1), joined, "one token for 40 bytes is an under-report");
  assert.equal(meter.deliveredFor(joined - 1), joined - 1, "a plausible report (≥ 1 token per 8 bytes) is taken as it is, untokenized");
  assert.equal(await new OutputMeter(null).deliveredFor(null), 0);
});

for (const [name, text] of [
  ["Unicode-heavy (CJK, Cyrillic, accents)", "東京は日本の首都です。Привет, мир! Ça va très bien, merci. 한국어 텍스트도 있습니다. Ελληνικά γράμματα. ".repeat(12)],
  ["emoji", "🙂🚀👩‍👩‍👧‍👦🏳️‍🌈🇯🇵 🎉🎉🎉 ok 🤖🧠🔥💯 ".repeat(16)],
] as const) {
  test(`the running bound is never below the exact count on a ${name} stream, frame by frame`, async () => {
    for (const size of [1, 3, 17]) {
      const meter = new OutputMeter(null);
      let sent = "";
      for (const [i, p] of pieces(text, size).entries()) {
        assert.ok(meter.add(frame(p)));
        sent += p;
        if (i % 16 === 0) assert.ok(meter.tokens() >= countTokens(sent), `bound ${meter.tokens()} < exact ${countTokens(sent)} after ${sent.length} chars`);
      }
      assert.ok(meter.tokens() >= countTokens(sent));
      const exact = countTokens(sent);
      assert.equal(await meter.deliveredFor(null), exact, "the bill counts the joined text exactly");
    }
  });

  test(`the cut at the hold on a ${name} stream: what passed never exceeds the limit, the bound never under-states it`, () => {
    const covered = 200;
    const limit = covered + Math.max(8, Math.ceil(covered / 20));
    const meter = new OutputMeter(covered);
    let sent = "";
    let cut = false;
    for (const p of pieces(text, 3)) {
      if (!meter.add(frame(p))) {
        cut = true;
        break;
      }
      sent += p;
    }
    assert.ok(cut, "the text is longer than the hold covers");
    assert.ok(countTokens(sent) <= limit, `delivered ${countTokens(sent)} > limit ${limit}`);
    assert.ok(meter.tokens() >= countTokens(sent), "the bound never under-states what passed");
    assert.ok(meter.tokens() <= limit, "the bound reported to stream progress stays within the hold");
    assert.ok(countTokens(sent) >= covered - 10, "the cut comes near the limit, not at the first byte bound");
    assert.equal(meter.add(frame("x")), false, "nothing more passes once cut");
  });
}

test("far from the limit nothing is tokenized per frame", () => {
  const calls = { n: 0 };
  const meter = new OutputMeter(100_000, (data) => {
    calls.n++;
    return (JSON.parse(data) as { t: string }).t;
  });
  for (let i = 0; i < 500; i++) assert.ok(meter.add(JSON.stringify({ t: " word" })));
  assert.equal(calls.n, 500);
  assert.equal(meter.bound(), 500 * 5, "the bound is the bytes: no tokenizer ran");
  // Stream progress asks for a tighter figure: the text since the last count is tokenized once.
  assert.equal(meter.tokens(), 500);
  assert.equal(meter.bound(), 500);
});
