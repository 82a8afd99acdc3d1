import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startMockUpstream, type MockUpstream } from "../../src/mock/server.js";
import { assertOpenAI, openAISchemaNames, sseJsonPayloads, validateOpenAI } from "../helpers/openai-schema.js";

// The built-in mock answers demo mode and most suites: its bodies and chunks must be what OpenAI's
// published schema describes, or clients that validate (and tests that trust it) are misled.
let mock: MockUpstream;
before(async () => {
  mock = await startMockUpstream();
});
after(async () => mock?.close());

const post = (path: string, body: unknown) => fetch(mock.baseUrl + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

test("the schema helper finds OpenAI's schemas and can fail", () => {
  const names = openAISchemaNames();
  for (const n of ["CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "CreateEmbeddingResponse", "ListModelsResponse", "ErrorResponse"]) assert.ok(names.includes(n), n);
  // A chat body without `logprobs` and `message.refusal` (what the mock used to send) is refused.
  const old = { id: "x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }] };
  assert.ok(validateOpenAI("CreateChatCompletionResponse", old).length > 0);
  assert.throws(() => assertOpenAI("CreateChatCompletionResponse", old), /not a valid CreateChatCompletionResponse/);
});

test("mock chat, tool call, completions, embeddings, models and errors validate against OpenAI's schema", async () => {
  assertOpenAI("CreateChatCompletionResponse", await (await post("/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })).json());
  const tools = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } } }];
  assertOpenAI("CreateChatCompletionResponse", await (await post("/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], tools })).json());
  assertOpenAI("CreateCompletionResponse", await (await post("/completions", { model: "gpt-3.5-turbo-instruct", prompt: "hi" })).json());
  assertOpenAI("CreateEmbeddingResponse", await (await post("/embeddings", { model: "text-embedding-3-small", input: ["a", "b"] })).json());
  assertOpenAI("ListModelsResponse", await (await fetch(`${mock.baseUrl}/models`)).json());
  const err = await post("/chat/completions", { model: "gpt-4o-mini", messages: [], mock: { status: 429 } });
  assert.equal(err.status, 429);
  // OpenAI's ErrorResponse requires message, type, param and code.
  assertOpenAI("ErrorResponse", await err.json());
});

test("mock stream chunks (with the usage chunk) validate as CreateChatCompletionStreamResponse", async () => {
  const res = await post("/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
  const chunks = sseJsonPayloads(await res.text());
  assert.ok(chunks.length >= 7, `${chunks.length} chunks`);
  for (const c of chunks) assertOpenAI("CreateChatCompletionStreamResponse", c);
  assert.ok((chunks.at(-1) as { usage?: unknown }).usage, "the last chunk carries usage");
});
