import assert from "node:assert/strict";
import { test } from "node:test";
import type { SseEvent, StreamTranslator } from "../../src/providers/index.js";
import { parseUsage } from "../../src/providers/index.js";
import { OutputMeter } from "../../src/proxy/output-meter.js";
import { SseTap } from "../../src/proxy/sse-tap.js";
import { checkUsage } from "../../src/proxy/usage-check.js";

/** A toy named-event wire format (Anthropic-like): text deltas and a closing usage event. */
class NamedEventTranslator implements StreamTranslator {
  private usage: { input: number; output: number } | null = null;
  event(e: SseEvent): string[] {
    const j = JSON.parse(e.data) as { text?: string; input?: number; output?: number };
    if (e.event === "delta") return [JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: j.text } }] })];
    if (e.event === "usage") this.usage = { input: j.input ?? 0, output: j.output ?? 0 };
    return [];
  }
  end(): string[] {
    const u = this.usage;
    return [...(u ? [JSON.stringify({ choices: [], usage: { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output } })] : []), "[DONE]"];
  }
}

test("a non-OpenAI stream goes through the tap as OpenAI chunks: content, usage and [DONE]", () => {
  const meter = new OutputMeter(null);
  const tap = new SseTap({ clientWantsUsage: true, parseUsage, meter, translator: new NamedEventTranslator() });
  let out = "";
  out += tap.push(Buffer.from('event: delta\ndata: {"text":"Hello"}\n\nevent: delta\ndata: {"text":" world"}\n\n'));
  out += tap.push(Buffer.from('event: usage\ndata: {"input":3,"output":2}\n\n'));
  out += tap.flush();
  const frames = out.split("\n\n").filter(Boolean);
  assert.deepEqual(frames.map((f) => f.slice(0, 6)), ["data: ", "data: ", "data: ", "data: "]);
  assert.equal(JSON.parse(frames[0]!.slice(6)).choices[0].delta.content, "Hello");
  assert.equal(frames[3], "data: [DONE]");
  assert.equal(tap.usage?.completionTokens, 2);
  assert.ok(tap.sawContent && tap.sawDone);
  assert.equal(meter.deliveredTokens(), 2);
  assert.ok(meter.tokens() >= 2, "the running bound never under-states it");
});

test("the meter stops the tap before the frame that would pass the hold", () => {
  const meter = new OutputMeter(1);
  const tap = new SseTap({ clientWantsUsage: false, parseUsage, meter });
  const frame = (t: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: t } }] })}\n\n`;
  // 1 covered + a tolerance of 8: ten one-token frames reach past it.
  const out = String(tap.push(Buffer.from(Array.from({ length: 20 }, () => frame(" a")).join(""))));
  assert.ok(tap.stopped);
  assert.equal((out.match(/ a/g) ?? []).length, 9);
  assert.equal(meter.tokens(), 9);
});

test("usage checks: clamped to what the request could produce, raised to what was delivered, named", () => {
  const u = (p: number, c: number) => ({ promptTokens: p, completionTokens: c, totalTokens: p + c, estimated: false });
  assert.deepEqual(checkUsage(u(10, 5), { promptTokens: 100, outputTokens: 10 }, 5), { usage: u(10, 5), anomaly: null });
  assert.deepEqual(checkUsage(u(1e15, 1e15), { promptTokens: 100, outputTokens: 10 }, null), { usage: u(100, 10), anomaly: "prompt_above_request" });
  assert.deepEqual(checkUsage(u(10, 0), { promptTokens: null, outputTokens: 100 }, 50), { usage: u(10, 50), anomaly: "output_below_delivered" });
  assert.deepEqual(checkUsage(u(0, 0), { promptTokens: null, outputTokens: null }, 0, () => 7), { usage: u(7, 0), anomaly: "prompt_below_request" });
  const neg = parseUsage({ prompt_tokens: -5, completion_tokens: -5 });
  assert.equal(checkUsage(neg!, { promptTokens: null, outputTokens: null }, null).anomaly, "negative");
});
