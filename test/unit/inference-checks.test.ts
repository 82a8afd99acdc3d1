import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { surelyValid } from "../../src/http/inference-checks.js";
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest } from "../../src/http/inference-entry.js";

const schemas = { "chat.completions": ChatCompletionRequest, completions: CompletionRequest, embeddings: EmbeddingRequest } as const;
type Endpoint = keyof typeof schemas;

// Values each field may take in the generated bodies: valid ones and every kind of wrong one.
const ANY: unknown[] = [undefined, null, true, false, 0, -1, 1, 1.5, 2, 2.5, 2 ** 53, "", "x", [], ["a"], [""], [1, 2], [[1], [2]], [1, "a"], {}, { include_usage: true }, { include_usage: "yes" }];
const MESSAGES: unknown[] = [
  undefined,
  null,
  [],
  "hi",
  [{ role: "user", content: "hi" }],
  [{ role: "user" }],
  [{ role: "", content: "hi" }],
  [{ role: 1, content: "hi" }],
  [{ role: "user", content: null }],
  [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  [{ role: "user", content: 5 }],
  [{ role: "user", content: { text: "x" } }],
  [null],
  [["user"]],
  [{ role: "system", content: "s" }, { role: "user", content: "u", name: "n", extra: { a: 1 } }],
];

function* bodies(endpoint: Endpoint): Generator<Record<string, unknown>> {
  const fields = endpoint === "chat.completions" ? ["stream", "max_tokens", "max_completion_tokens", "temperature", "stream_options"] : endpoint === "completions" ? ["stream", "max_tokens"] : [];
  const main = endpoint === "chat.completions" ? "messages" : endpoint === "completions" ? "prompt" : "input";
  const mains = endpoint === "chat.completions" ? MESSAGES : ANY;
  for (const model of [undefined, "", "m", 3]) {
    for (const models of [undefined, null, [], ["a"], [""], [1], "a"]) {
      for (const m of mains) {
        const base: Record<string, unknown> = {};
        if (model !== undefined) base.model = model;
        if (models !== undefined) base.models = models;
        if (m !== undefined) base[main] = m;
        yield base;
        for (const f of fields) for (const v of ANY) if (v !== undefined) yield { ...base, [f]: v, unknown_field: { nested: [1] } };
      }
    }
  }
}

describe("hand-written inference body checks", () => {
  for (const endpoint of Object.keys(schemas) as Endpoint[]) {
    it(`${endpoint}: never accept a body the schema refuses, and accept the ordinary ones`, () => {
      let sure = 0;
      let total = 0;
      for (const b of bodies(endpoint)) {
        total++;
        if (!surelyValid(endpoint, b)) continue;
        sure++;
        const r = schemas[endpoint].safeParse(b);
        assert.ok(r.success, `accepted a body the schema refuses: ${JSON.stringify(b)}`);
      }
      assert.ok(sure > 0 && sure < total, `${sure} of ${total}`);
    });
  }

  it("the ordinary request bodies take the fast path", () => {
    assert.equal(surelyValid("chat.completions", { model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 64, stream: true, stream_options: { include_usage: true }, temperature: 0.7 }), true);
    assert.equal(surelyValid("chat.completions", { model: "m", models: ["a", "b"], messages: [{ role: "user", content: [{ type: "text", text: "x" }] }], tools: [] }), true);
    assert.equal(surelyValid("completions", { model: "m", prompt: "once upon", max_tokens: 8 }), true);
    assert.equal(surelyValid("embeddings", { model: "m", input: ["a", "b"] }), true);
    assert.equal(surelyValid("embeddings", { model: "m", input: [] }), true, "an empty number list is valid for the schema too");
    assert.equal(surelyValid("chat.completions", { model: "m", messages: [] }), false);
  });
});
