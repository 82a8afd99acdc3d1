import assert from "node:assert/strict";
import { test } from "node:test";
import { estimatedUsage, parseUsage } from "../../src/providers/index.js";
import { OutputMeter } from "../../src/proxy/output-meter.js";
import { SseTap } from "../../src/proxy/sse-tap.js";
import { assertOpenAI, sseJsonPayloads } from "../helpers/openai-schema.js";

const first = 'data: {"id":"chatcmpl-up1","object":"chat.completion.chunk","created":1700000000,"model":"m-2024","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}\n\n';
const last = 'data: {"id":"chatcmpl-up1","object":"chat.completion.chunk","created":1700000000,"model":"m-2024","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n';
const done = "data: [DONE]\n\n";

function tap(clientWantsUsage: boolean) {
  return new SseTap({
    clientWantsUsage,
    parseUsage,
    meter: new OutputMeter(null),
    estimateUsage: () => estimatedUsage(12, 3),
    decorateUsage: (_u, raw) => {
      raw.cost = 0.0042;
    },
  });
}

test("a client that asked for usage gets an estimated, priced usage chunk before [DONE] when the upstream sent none", () => {
  const t = tap(true);
  const out = [first, last, done].map((f) => String(t.push(Buffer.from(f)))).join("");
  const payloads = sseJsonPayloads(out);
  const usageChunk = payloads.find((p) => (p as { usage?: unknown }).usage) as { id: string; model: string; choices: unknown[]; usage: Record<string, unknown> };
  assert.ok(usageChunk, "a usage chunk was written");
  assert.deepEqual(usageChunk.usage, { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, cost: 0.0042, estimated: true });
  assert.equal(usageChunk.id, "chatcmpl-up1");
  assert.equal(usageChunk.model, "m-2024");
  assert.deepEqual(usageChunk.choices, []);
  assert.ok(out.indexOf('"estimated":true') < out.indexOf("[DONE]"), "the usage chunk comes before [DONE]");
  for (const p of payloads) assertOpenAI("CreateChatCompletionStreamResponse", p);
});

test("no estimated chunk when the client did not ask for usage, or when the upstream reported it", () => {
  const quiet = tap(false);
  const out = [first, last, done].map((f) => String(quiet.push(Buffer.from(f)))).join("");
  assert.ok(!out.includes('"usage"'));

  const reported = tap(true);
  const usage = 'data: {"id":"chatcmpl-up1","object":"chat.completion.chunk","created":1700000000,"model":"m-2024","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":4,"total_tokens":24}}\n\n';
  const out2 = [first, last, usage, done].map((f) => String(reported.push(Buffer.from(f)))).join("");
  assert.equal(out2.match(/"usage"/g)?.length, 1, "only the upstream's usage chunk");
  assert.ok(!out2.includes("estimated"));
});
