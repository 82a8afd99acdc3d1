import assert from "node:assert/strict";
import { test } from "node:test";
import { secrets } from "../../src/core/secret-scrubber.js";
import { parseUsage } from "../../src/providers/index.js";
import { OutputMeter } from "../../src/proxy/output-meter.js";
import { SseTap } from "../../src/proxy/sse-tap.js";

test("an upstream's mid-stream error event that echoes a configured key reaches the client without it", () => {
  const key = "AIzaSyFAKE-upstream-key-0123456789";
  secrets.add(key);
  const tap = new SseTap({ clientWantsUsage: false, parseUsage, meter: new OutputMeter(null) });
  const content = 'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n';
  const error = `data: {"error":{"message":"API key ${key} is over its quota","code":429}}\n\n`;
  const out = String(tap.push(Buffer.from(content))) + String(tap.push(Buffer.from(error)));
  assert.ok(out.includes('"content":"hi"'), "ordinary frames pass");
  assert.ok(!out.includes(key), "the key is gone");
  assert.ok(out.includes("[redacted] is over its quota"), "the rest of the message stays");
});

test("frames without a secret pass as the same bytes", () => {
  const tap = new SseTap({ clientWantsUsage: false, parseUsage, meter: new OutputMeter(null) });
  const frame = Buffer.from('data: {"error":{"message":"model overloaded"}}\n\n');
  assert.equal(tap.push(frame), frame);
});
