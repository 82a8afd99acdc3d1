import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { sseFixture } from "../fakes/native-upstream.js";
import { openAIFixture, openAIStreamFixture, startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { assertOpenAI, sseJsonPayloads, validateOpenAI } from "../helpers/openai-schema.js";

// The suite's OpenAI-compatible upstream answers from recordings: the recordings and everything the
// fake makes of them must be what OpenAI's published schema describes, or every test built on it
// proves the gateway against a wire format nobody speaks.
let up: OpenAIUpstream;
before(async () => {
  up = await startOpenAIUpstream();
});
after(async () => up?.close());

const post = (path: string, body: unknown) => fetch(up.baseUrl + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const hi = [{ role: "user", content: "Say hello" }];
type Chunk = { choices: Array<{ delta?: { content?: string | null; tool_calls?: Array<{ function: { name?: string; arguments?: string } }> }; text?: string; finish_reason: string | null }>; usage?: Record<string, unknown> | null };
type Event = { type: string; sequence_number: number; delta?: string; response?: { status: string; usage: Record<string, unknown> | null; output: Array<{ content: Array<{ text: string }> }> } };

/**
 * OpenAI's document has no schema of its own for a legacy completions stream chunk: it is a
 * CreateCompletionResponse whose `finish_reason` is null until the last one (the enum leaves null out).
 */
function assertLegacyChunk(chunk: unknown): void {
  const c = structuredClone(chunk) as Chunk;
  for (const ch of c.choices) if (ch.finish_reason === null) ch.finish_reason = "stop";
  assertOpenAI("CreateCompletionResponse", c);
}

const FIXTURE_DIR = new URL("../fixtures/sse/openai/", import.meta.url);
const STREAM_SCHEMA: Record<string, string> = {
  "chat-stream.txt": "CreateChatCompletionStreamResponse",
  "chat-tool-call-stream.txt": "CreateChatCompletionStreamResponse",
  "completions-stream.txt": "CreateCompletionResponse",
  "responses-stream.txt": "ResponseStreamEvent",
};
const JSON_SCHEMA: Record<string, string> = {
  "chat-completion.json": "CreateChatCompletionResponse",
  "chat-tool-call.json": "CreateChatCompletionResponse",
  "completions.json": "CreateCompletionResponse",
  "embeddings.json": "CreateEmbeddingResponse",
  "responses.json": "Response",
};

test("every recorded OpenAI fixture validates against OpenAI's published schema", () => {
  const files = readdirSync(FIXTURE_DIR).sort();
  for (const f of files) assert.ok(f in STREAM_SCHEMA || f in JSON_SCHEMA || f === "errors.json", `${f} has a schema to check against`);
  for (const [f, schema] of Object.entries(JSON_SCHEMA)) assertOpenAI(schema, openAIFixture(f));
  for (const [f, schema] of Object.entries(STREAM_SCHEMA)) {
    const frames = openAIStreamFixture(f);
    const payloads = sseJsonPayloads(readFileSync(new URL(f, FIXTURE_DIR), "utf8"));
    assert.ok(payloads.length >= 6, `${f}: ${payloads.length} frames`);
    for (const p of payloads) (f.startsWith("completions") ? assertLegacyChunk : (x: unknown) => assertOpenAI(schema, x))(p);
    // Chat and legacy streams end with [DONE]; the Responses API ends with response.completed.
    if (f.startsWith("responses")) {
      assert.equal(frames.at(-1)!.event, "response.completed");
      for (const fr of frames) assert.equal(fr.event, (JSON.parse(fr.data) as { type: string }).type, "event name matches the payload type");
    } else assert.equal(frames.at(-1)!.data, "[DONE]");
  }
  for (const body of Object.values(openAIFixture("errors.json"))) assertOpenAI("ErrorResponse", body);
  // The check can fail: a chunk without `choices` is not a chunk.
  assert.ok(validateOpenAI("CreateChatCompletionStreamResponse", { id: "x", object: "chat.completion.chunk", created: 1, model: "m" }).length > 0);
});

test("chat: JSON answer, tool call and a stream with the include_usage chunk, all valid, usage counted from the request", async () => {
  const r = await post("/chat/completions", { model: "gpt-4o-mini", messages: hi });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { model: string; choices: Array<{ message: { content: string } }>; usage: Record<string, unknown> };
  assertOpenAI("CreateChatCompletionResponse", body);
  assert.equal(body.model, "gpt-4o-mini");
  assert.equal(body.choices[0]!.message.content, "Hello from the mock upstream");
  assert.deepEqual(body.usage.prompt_tokens_details, { cached_tokens: 0, audio_tokens: 0 });
  assert.equal(body.usage.prompt_tokens, 3, "ceil(9 chars / 4)");
  assert.equal(body.usage.completion_tokens, 7, "ceil(28 chars / 4)");

  const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city", "days"] } } }];
  const call = (await (await post("/chat/completions", { model: "gpt-4o-mini", messages: hi, tools })).json()) as { choices: Array<{ finish_reason: string; message: { tool_calls: Array<{ function: { name: string; arguments: string } }> } }> };
  assertOpenAI("CreateChatCompletionResponse", call);
  assert.equal(call.choices[0]!.finish_reason, "tool_calls");
  assert.deepEqual(call.choices[0]!.message.tool_calls[0]!.function, { name: "get_weather", arguments: '{"city":"mock","days":1}' });

  const s = await post("/chat/completions", { model: "gpt-4o-mini", messages: hi, stream: true, stream_options: { include_usage: true } });
  assert.match(s.headers.get("content-type") ?? "", /^text\/event-stream/);
  const text = await s.text();
  assert.ok(text.endsWith("data: [DONE]\n\n"));
  const chunks = sseJsonPayloads(text) as Chunk[];
  for (const c of chunks) assertOpenAI("CreateChatCompletionStreamResponse", c);
  assert.equal(chunks.length, 8, "role, 5 content, finish, usage");
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join(""), "Hello from the mock upstream");
  assert.equal(chunks[6]!.choices[0]!.finish_reason, "stop");
  assert.deepEqual(chunks[7]!.choices, []);
  assert.deepEqual(chunks[7]!.usage, {
    prompt_tokens: 3,
    completion_tokens: 7,
    total_tokens: 10,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  });
  assert.ok(chunks.slice(0, 7).every((c) => c.usage === null), "usage: null on every chunk before the usage chunk, as OpenAI sends it");

  // Without include_usage: no usage chunk and no usage key at all.
  const plain = sseJsonPayloads(await (await post("/chat/completions", { model: "m", messages: hi, stream: true })).text()) as Chunk[];
  assert.equal(plain.length, 7);
  assert.ok(plain.every((c) => !("usage" in c)));

  const ts = sseJsonPayloads(await (await post("/chat/completions", { model: "m", messages: hi, tools, stream: true, stream_options: { include_usage: true } })).text()) as Chunk[];
  for (const c of ts) assertOpenAI("CreateChatCompletionStreamResponse", c);
  assert.equal(ts[0]!.choices[0]!.delta!.tool_calls![0]!.function.name, "get_weather");
  assert.equal(ts.map((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function.arguments ?? "").join(""), '{"city":"mock","days":1}');
  assert.equal(ts.at(-2)!.choices[0]!.finish_reason, "tool_calls");
});

test("legacy completions and embeddings (float and base64) validate", async () => {
  const c = (await (await post("/completions", { model: "gpt-3.5-turbo-instruct", prompt: "Say hello" })).json()) as { choices: Array<{ text: string }> };
  assertOpenAI("CreateCompletionResponse", c);
  assert.equal(c.choices[0]!.text, "Hello from the mock upstream");
  const cs = sseJsonPayloads(await (await post("/completions", { model: "gpt-3.5-turbo-instruct", prompt: "Say hello", stream: true, stream_options: { include_usage: true } })).text()) as Chunk[];
  for (const x of cs) assertLegacyChunk(x);
  assert.equal(cs.map((x) => x.choices[0]?.text ?? "").join(""), "Hello from the mock upstream");
  assert.equal(cs.at(-1)!.usage!.prompt_tokens, 3);

  const e = (await (await post("/embeddings", { model: "text-embedding-3-small", input: ["a", "bb"] })).json()) as { data: Array<{ embedding: number[] }>; usage: { prompt_tokens: number } };
  assertOpenAI("CreateEmbeddingResponse", e);
  assert.equal(e.data.length, 2);
  assert.equal(e.usage.prompt_tokens, 2);
  const b64 = (await (await post("/embeddings", { model: "text-embedding-3-small", input: "a", encoding_format: "base64" })).json()) as { data: Array<{ embedding: string }> };
  const floats = new Float32Array(Uint8Array.from(Buffer.from(b64.data[0]!.embedding, "base64")).buffer);
  assert.equal(floats.length, 8);
  assert.ok(Math.abs(floats[0]! - -0.006929283) < 1e-6);
});

test("Responses API: the JSON answer and every SSE event in OpenAI's order, usage with input and output token details", async () => {
  const r = (await (await post("/responses", { model: "gpt-4o-mini", input: "Say hello", instructions: "Be brief", fake: { usage: { prompt_tokens: 40, completion_tokens: 6, cached_tokens: 32, reasoning_tokens: 2 } } })).json()) as Event["response"] & { instructions: string };
  assertOpenAI("Response", r);
  assert.equal(r!.status, "completed");
  assert.equal(r!.instructions, "Be brief");
  assert.equal(r!.output[0]!.content[0]!.text, "Hello from the mock upstream");
  assert.deepEqual(r!.usage, { input_tokens: 40, input_tokens_details: { cached_tokens: 32, cache_write_tokens: 0 }, output_tokens: 6, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 46 });

  const s = await post("/responses", { model: "gpt-4o-mini", input: [{ role: "user", content: [{ type: "input_text", text: "Say hello" }] }], stream: true });
  const raw = await s.text();
  const events = sseJsonPayloads(raw) as Event[];
  for (const e of events) assertOpenAI("ResponseStreamEvent", e);
  assert.deepEqual(
    events.map((e) => e.type),
    [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array(5).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ],
  );
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  assert.match(raw, /^event: response\.created\ndata: /);
  assert.equal(events.filter((e) => e.delta).map((e) => e.delta).join(""), "Hello from the mock upstream");
  const done = events.at(-1)!.response!;
  assert.equal(done.status, "completed");
  assert.deepEqual(done.usage, { input_tokens: 3, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 10 });
});

test("controls: status with OpenAI's error body, delay, chunk count and interval, cut, omitted and overridden usage, refused models, stats", async () => {
  up.resetStats();
  const err = await post("/chat/completions", { model: "m", messages: hi, fake: { status: 429 } });
  assert.equal(err.status, 429);
  const eb = (await err.json()) as { error: { code: string; type: string } };
  assertOpenAI("ErrorResponse", eb);
  assert.equal(eb.error.code, "rate_limit_exceeded");
  up.configure({ status: 503, error_message: "overloaded right now", times: 1 });
  const e1 = await post("/chat/completions", { model: "m", messages: hi });
  assert.equal(e1.status, 503);
  assert.equal(((await e1.json()) as { error: { message: string } }).error.message, "overloaded right now");
  assert.equal((await post("/chat/completions", { model: "m", messages: hi })).status, 200, "times: 1 applied once");

  const t0 = Date.now();
  await (await post("/chat/completions", { model: "m", messages: hi, mock: { delay_ms: 150 } })).text();
  assert.ok(Date.now() - t0 >= 140, "delay before the headers");

  const t1 = Date.now();
  const paced = sseJsonPayloads(await (await post("/chat/completions", { model: "m", messages: hi, stream: true, fake: { chunks: 7, interval_ms: 40 } })).text()) as Chunk[];
  assert.ok(Date.now() - t1 >= 6 * 40 - 10, "six pauses between seven chunks");
  assert.equal(paced.filter((c) => c.choices[0]?.delta?.content).length, 7);
  assert.equal(paced.map((c) => c.choices[0]?.delta?.content ?? "").join(""), "Hello from the mock upstream Hello from");

  const cut = await post("/chat/completions", { model: "m", messages: hi, stream: true, stream_options: { include_usage: true }, fake: { cut_after: 2 } });
  const reader = cut.body!.getReader();
  let got = "";
  await assert.rejects(
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        got += Buffer.from(value).toString();
      }
    })(),
  );
  const partial = sseJsonPayloads(got) as Chunk[];
  assert.equal(partial.length, 3, "role chunk and two content chunks, then the connection drops");
  assert.ok(!got.includes("[DONE]"));

  const cutResponses = await post("/responses", { model: "m", input: "x", stream: true, fake: { cut_after: 1 } });
  await assert.rejects(cutResponses.text());

  const none = sseJsonPayloads(await (await post("/chat/completions", { model: "m", messages: hi, stream: true, stream_options: { include_usage: true }, fake: { omit_usage: true } })).text()) as Chunk[];
  assert.ok(none.every((c) => !c.usage));
  const nj = (await (await post("/chat/completions", { model: "m", messages: hi, fake: { omit_usage: true } })).json()) as Record<string, unknown>;
  assert.equal("usage" in nj, false);
  const over = (await (await post("/chat/completions", { model: "m", messages: hi, fake: { usage: { prompt_tokens: 11, completion_tokens: 5, cached_tokens: 3, reasoning_tokens: 2, cost: 0.25 } } })).json()) as { usage: Record<string, unknown> };
  assert.deepEqual(over.usage, {
    prompt_tokens: 11,
    completion_tokens: 5,
    total_tokens: 16,
    prompt_tokens_details: { cached_tokens: 3, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 2, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    cost: 0.25,
  });
  const always = sseJsonPayloads(await (await post("/chat/completions", { model: "m", messages: hi, stream: true, fake: { usage_only_when_asked: false } })).text()) as Chunk[];
  assert.ok(always.at(-1)!.usage, "a server that always reports usage");

  up.refuseModels("gpt-5-turbo");
  const nf = await post("/chat/completions", { model: "gpt-5-turbo", messages: hi });
  assert.equal(nf.status, 404);
  assert.equal(((await nf.json()) as { error: { code: string } }).error.code, "model_not_found");

  // A client that leaves mid-stream is counted.
  const ac = new AbortController();
  const slow = await fetch(`${up.baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer sk-test" }, body: JSON.stringify({ model: "m", messages: hi, stream: true, fake: { chunks: 50, interval_ms: 20 } }), signal: ac.signal });
  await slow.body!.getReader().read();
  ac.abort();
  for (let i = 0; i < 50 && up.stats.aborted === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(up.stats.aborted, 1);
  assert.equal(up.stats.lastHeaders.authorization, "Bearer sk-test");
  assert.equal((up.stats.lastBody as { model: string }).model, "m");
  assert.equal(up.stats.byPath["/v1/chat/completions"], 12);
  assert.equal(up.stats.byPath["/v1/responses"], 1);
  assert.equal(up.stats.requests, 13);
});

test("OpenAI's refusals of a request without its required parameters, and scripted answers sent verbatim", async () => {
  const cases: Array<[string, unknown, string | null]> = [
    ["/chat/completions", { messages: hi }, null],
    ["/chat/completions", { model: "m" }, "missing_required_parameter"],
    ["/chat/completions", { model: "m", messages: [] }, "empty_array"],
    ["/embeddings", { model: "text-embedding-3-small" }, "missing_required_parameter"],
    ["/responses", { input: "x" }, null],
  ];
  for (const [path, body, code] of cases) {
    const r = await post(path, body);
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
    const e = (await r.json()) as { error: { code: string | null; type: string } };
    assertOpenAI("ErrorResponse", e);
    assert.equal(e.error.type, "invalid_request_error");
    assert.equal(e.error.code, code);
  }

  const recorded = sseFixture("openai/responses-stream.txt");
  up.script({ sse: recorded }, { json: { ok: 1 }, status: 202 }, { status: 529, error: { error: { message: "overloaded", type: "server_error", param: null, code: null } } });
  const verbatim = await post("/responses", { model: "m", input: "x", stream: true });
  assert.equal(await verbatim.text(), recorded, "the transcript byte for byte");
  const j = await post("/chat/completions", { model: "m", messages: hi });
  assert.equal(j.status, 202);
  assert.deepEqual(await j.json(), { ok: 1 });
  assert.equal((await post("/chat/completions", { model: "m", messages: hi })).status, 529);
  assert.equal((await post("/chat/completions", { model: "m", messages: hi })).status, 200, "the script is used up");
});

test("suites talk to this fake, not the product's demo mock (only the mock's own test starts it)", () => {
  const root = new URL("../", import.meta.url).pathname;
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== "fixtures") walk(join(dir, e.name));
      else if (e.name.endsWith(".ts")) files.push(join(dir, e.name));
    }
  };
  walk(root);
  assert.ok(files.length > 100, `${files.length} test files`);
  const users = files.filter((f) => /src\/mock\/server\.js|\/__mock\//.test(readFileSync(f, "utf8"))).map((f) => relative(root, f));
  assert.deepEqual(users, ["unit/mock-openai-schema.test.ts"]);
});
