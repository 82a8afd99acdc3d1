import assert from "node:assert/strict";
import { test } from "node:test";
import { countPromptTokens, promptTokenUpperBound } from "../../src/proxy/tokenizer.js";

const SAMPLES = [
  "Hello, world! How are you today?",
  "Привет! Как дела? Это тестовое сообщение на русском языке.",
  "你好，世界！这是一个测试。",
  "function f(x) { return x * 2 + 1; } // 1234567890 \n\t\t  ",
  "🙂🚀✨ emoji 🧪 and ZWJ 👩‍👩‍👧",
  " ".repeat(500),
  "a",
  "",
];

test("the hold's prompt bound is never below the real (tiktoken) count", () => {
  for (const s of SAMPLES) {
    const body = { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: s, name: "u1" }], tools: [{ type: "function", function: { name: "f" } }] };
    const exact = countPromptTokens(body);
    const bound = promptTokenUpperBound(body);
    assert.ok(bound >= exact, `${JSON.stringify(s).slice(0, 30)}: bound ${bound} < exact ${exact}`);
  }
  for (const s of SAMPLES) assert.ok(promptTokenUpperBound({ prompt: s }) >= countPromptTokens({ prompt: s }));
  assert.ok(promptTokenUpperBound({ messages: [{ role: "user", content: [{ type: "text", text: "hi there" }] }] }) >= countPromptTokens({ messages: [{ role: "user", content: [{ type: "text", text: "hi there" }] }] }));
});
