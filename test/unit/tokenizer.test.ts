import assert from "node:assert/strict";
import { test } from "node:test";
import { getEncoding } from "js-tiktoken";
import { countTokens } from "../../src/proxy/o200k-count.js";
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

test("countTokens gives js-tiktoken's o200k_base count for every kind of text, short pieces and long ones", () => {
  const enc = getEncoding("o200k_base");
  // Special-token strings are plain text in a prompt (the encoder would throw on them by default).
  const reference = (s: string) => enc.encode(s, [], []).length;
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const words = "gateway token привет мир 你好世界 function const x = 42; café naïve 😀👍🏽 \t\n  \n\n 12345678 3.14159 https://example.com/a?b=c <|endoftext|> ".split(" ");
  const texts = [...SAMPLES, "hello <|endoftext|> world", "x".repeat(3000), "ab".repeat(1500), "aGVsbG8gd29ybGQ=".repeat(100)];
  for (let i = 0; i < 200; i++) {
    let s = "";
    const n = Math.floor(rnd() * 120);
    for (let j = 0; j < n; j++) s += words[Math.floor(rnd() * words.length)] + (rnd() < 0.7 ? " " : "");
    texts.push(s);
  }
  // Letter runs of 40–400 characters: one piece each, merged through the heap past 48 bytes.
  for (let i = 0; i < 60; i++) {
    const len = 40 + Math.floor(rnd() * 360);
    const letters = i % 2 ? "abcdefghijklmnopqrstuvwxyz" : "абвгдеёжзийклмнопрстуфхцчшщъыьэюя";
    texts.push(Array.from({ length: len }, () => letters[Math.floor(rnd() * letters.length)]).join(""));
  }
  for (let i = 0; i < 40; i++) texts.push(Array.from({ length: 200 }, () => String.fromCodePoint(32 + Math.floor(rnd() * 0x3000))).join(""));
  for (const s of texts) assert.equal(countTokens(s), reference(s), JSON.stringify(s.slice(0, 60)));
});

test("a long run without spaces (one piece) is counted, and exactly", () => {
  // One 200,000-byte piece: merging it by scanning would take hours (the runner's timeout fails
  // that); the heap takes a fraction of a second. The count is the repeats of the piece's tokens.
  const unit = countTokens("q".repeat(1_000));
  assert.equal(countTokens("q".repeat(1_000)), getEncoding("o200k_base").encode("q".repeat(1_000)).length);
  assert.ok(countTokens("q".repeat(200_000)) >= unit * 200 - 200 && countTokens("q".repeat(200_000)) <= unit * 200 + 200);
});
