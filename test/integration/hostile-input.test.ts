import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * Hostile input against a running gateway: every case must end in a 4xx with the OpenAI error
 * shape (never a 5xx, never a plain-text body), and refused bodies never reach the upstream.
 */
interface Case {
  name: string;
  method?: string;
  path: string;
  /** A raw body (string) or a value to JSON-encode. */
  body?: unknown;
  raw?: string;
  contentType?: string;
  /** Expected status (default: any 4xx). */
  status?: number;
  code?: string;
  param?: string;
  auth?: "key" | "admin" | "none";
}

const nest = (depth: number, leaf: unknown = 1, key?: string): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = key ? { [key]: v } : [v];
  return v;
};
const deepText = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const chat = (extra: Record<string, unknown>) => ({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...extra });

const CASES: Case[] = [
  { name: "model id decoded twice (%25)", method: "GET", path: "/v1/models/%25", status: 404, code: "model_not_found" },
  { name: "model id with a broken escape", method: "GET", path: "/v1/models/%E0%A4%A", status: 404 },
  { name: "model id NUL", method: "GET", path: "/v1/models/%00", status: 404 },
  { name: "model id with traversal", method: "GET", path: "/v1/models/..%2F..%2Fadmin", status: 404 },
  { name: "5,000-deep content array", path: "/v1/chat/completions", raw: `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":${"[".repeat(5000)}"x"${"]".repeat(5000)}}]}`, status: 400, code: "json_too_deep" },
  { name: "20,000 levels in an unknown field", path: "/v1/chat/completions", raw: `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x":${deepText(20000)}}`, status: 400, code: "json_too_deep" },
  { name: "deep object in embeddings", path: "/v1/embeddings", raw: `{"model":"openai/text-embedding-3-small","input":"a","x":${JSON.stringify(nest(200, 1, "a"))}}`, status: 400, code: "json_too_deep" },
  { name: "deep body on a pass-through route", path: "/v1/moderations", raw: `{"input":${deepText(5000)}}`, status: 400, code: "json_too_deep" },
  { name: "deep body on the OpenRouter proxy", path: "/api/v1/openrouter/chat/completions", raw: `{"model":"openai/gpt-4o-mini","messages":${deepText(3000)}}`, status: 400, code: "json_too_deep" },
  { name: "malformed JSON", path: "/v1/chat/completions", raw: '{"model": "x", ', status: 400, code: "invalid_json" },
  { name: "empty body", path: "/v1/chat/completions", raw: "", status: 400 },
  { name: "array body", path: "/v1/chat/completions", raw: "[1,2]", status: 400 },
  { name: "string body", path: "/v1/chat/completions", raw: '"hello"', status: 400 },
  { name: "null body", path: "/v1/chat/completions", raw: "null", status: 400 },
  { name: "NUL in the model name", path: "/v1/chat/completions", body: chat({ model: "gpt-4o\u0000mini" }) },
  { name: "Cyrillic look-alike in the model name", path: "/v1/chat/completions", body: chat({ model: "gpt-4\u043e-mini" }), status: 400, param: "model" },
  { name: "CJK model name, streamed", path: "/v1/chat/completions", body: chat({ model: "\u6a21\u578b", stream: true }), status: 400, param: "model" },
  { name: "CR/LF in the model name", path: "/v1/chat/completions", body: chat({ model: "gpt-4o\r\nx-evil: 1" }) },
  { name: "lone surrogate in content", path: "/v1/chat/completions", raw: '{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"\\ud800"}],"api_key":1}', status: 400, code: "forbidden_parameter" },
  { name: "model is an object", path: "/v1/chat/completions", body: chat({ model: { a: 1 } }), status: 400, param: "model" },
  { name: "messages is a string", path: "/v1/chat/completions", body: chat({ messages: "hi" }), status: 400, param: "messages" },
  { name: "messages empty", path: "/v1/chat/completions", body: chat({ messages: [] }), status: 400 },
  { name: "max_tokens negative", path: "/v1/chat/completions", body: chat({ max_tokens: -1 }), status: 400, param: "max_tokens" },
  { name: "max_tokens huge float", path: "/v1/chat/completions", body: chat({ max_tokens: 1e308 }), status: 400 },
  { name: "max_tokens as a string", path: "/v1/chat/completions", body: chat({ max_tokens: "10" }), status: 400 },
  { name: "stream not a boolean", path: "/v1/chat/completions", body: chat({ stream: "yes" }), status: 400 },
  { name: "api_base at the top", path: "/v1/chat/completions", body: chat({ api_base: "http://169.254.169.254/" }), status: 400, code: "forbidden_parameter", param: "api_base" },
  { name: "base_url at the top", path: "/v1/chat/completions", body: chat({ base_url: "http://127.0.0.1:1/" }), status: 400, code: "forbidden_parameter", param: "base_url" },
  { name: "api_key at the top", path: "/v1/chat/completions", body: chat({ api_key: "sk-mine" }), status: 400, code: "forbidden_parameter", param: "api_key" },
  { name: "extra_headers", path: "/v1/chat/completions", body: chat({ extra_headers: { "x-a": "b" } }), status: 400, code: "forbidden_parameter", param: "extra_headers" },
  { name: "extra_body", path: "/v1/chat/completions", body: chat({ extra_body: { api_base: "http://x" } }), status: 400, code: "forbidden_parameter", param: "extra_body" },
  { name: "custom_llm_provider", path: "/v1/chat/completions", body: chat({ custom_llm_provider: "bedrock" }), status: 400, code: "forbidden_parameter", param: "custom_llm_provider" },
  { name: "aws credentials", path: "/v1/chat/completions", body: chat({ aws_secret_access_key: "x" }), status: 400, code: "forbidden_parameter", param: "aws_secret_access_key" },
  { name: "vertex project", path: "/v1/chat/completions", body: chat({ vertex_project: "p" }), status: 400, code: "forbidden_parameter", param: "vertex_project" },
  { name: "api_base nested in metadata", path: "/v1/chat/completions", body: chat({ metadata: { api_base: "http://x" } }), status: 400, code: "forbidden_parameter", param: "metadata.api_base" },
  { name: "api_key nested in a message", path: "/v1/chat/completions", body: chat({ messages: [{ role: "user", content: "hi", api_key: "k" }] }), status: 400, code: "forbidden_parameter", param: "messages[0].api_key" },
  { name: "user_config (LiteLLM model list)", path: "/v1/chat/completions", body: chat({ user_config: { model_list: [] } }), status: 400, code: "forbidden_parameter", param: "user_config" },
  { name: "api_base in embeddings", path: "/v1/embeddings", body: { model: "openai/text-embedding-3-small", input: "a", api_base: "http://x" }, status: 400, code: "forbidden_parameter", param: "api_base" },
  { name: "api_base on a pass-through route", path: "/v1/moderations", body: { input: "a", api_base: "http://x" }, status: 400, code: "forbidden_parameter", param: "api_base" },
  { name: "api_key on the OpenRouter proxy", path: "/api/v1/openrouter/chat/completions", body: chat({ api_key: "x" }), status: 400, code: "forbidden_parameter", param: "api_key" },
  { name: "priority tier (billed above list price)", path: "/v1/chat/completions", body: chat({ service_tier: "priority" }), status: 400, code: "unsupported_parameter", param: "service_tier" },
  { name: "scale tier on Responses", path: "/v1/responses", body: { model: "openai/gpt-4o-mini", input: "hi", service_tier: "scale" }, status: 400, code: "unsupported_parameter", param: "service_tier" },
  { name: "no key", path: "/v1/chat/completions", body: chat({}), auth: "none", status: 401 },
  { name: "body over MAX_BODY_BYTES", path: "/v1/chat/completions", raw: JSON.stringify(chat({ x: "a".repeat(5 * 1024 * 1024) })), status: 413 },
  { name: "invalid UTF-8 bytes", path: "/v1/chat/completions", raw: '{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"\xff\xfe"}],"api_key":"x"}', status: 400 },
  { name: "text/plain content type", path: "/v1/chat/completions", raw: '{"model":"openai/gpt-4o-mini","messages":[],"x":1}', contentType: "text/plain", status: 400 },
  { name: "very long model id", method: "GET", path: `/v1/models/${"a".repeat(10_000)}`, status: 404 },
  { name: "bad escape in the query (ignored)", method: "GET", path: "/v1/models?x=%&y=%zz", status: 200 },
  { name: "OpenRouter proxy: traversal", method: "GET", path: "/api/v1/openrouter/%2e%2e/keys" },
  // Dot segments resolve before routing; they must not reach the operator's OpenRouter account
  // (`/api/v1/credits` itself is the caller's own credits, the gateway's route).
  { name: "OpenRouter proxy: dot segments", method: "GET", path: "/api/v1/openrouter/models/./../../openrouter/credits" },
  { name: "model with 100k characters", path: "/v1/chat/completions", body: chat({ model: "m".repeat(100_000) }), status: 400, param: "model" },
  { name: "messages with 50,000 entries of nothing", path: "/v1/chat/completions", raw: `{"model":"openai/gpt-4o-mini","messages":[${Array(50_000).fill("{}").join(",")}]}`, status: 400 },
  { name: "unknown route", method: "GET", path: "/v1/%ff%fe", status: 404 },
  { name: "admin: deep body", path: "/admin/accounts", raw: `{"name":${deepText(20000)}}`, auth: "admin", status: 400 },
  { name: "admin: malformed JSON", path: "/admin/accounts", raw: "{", auth: "admin", status: 400 },
];

describeEachDb("hostile input gets a 4xx in the OpenAI error shape", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let key: string;

  before(async () => {
    db = await createDb();
    // A breaker that would open after 2 failures: deep bodies must not count as upstream failures.
    gw = await startTestGateway({ database: db, env: { BREAKER_MIN_REQUESTS: "2", BREAKER_FAILURE_PCT: "50" } });
    ({ key } = await gw.createAccountWithKey());
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test(`${CASES.length} hostile requests: no 5xx, OpenAI error shape, nothing sent upstream`, async () => {
    const failures: string[] = [];
    gw.mock!.resetStats();
    for (const c of CASES) {
      const headers: Record<string, string> = {};
      if ((c.auth ?? "key") === "key") headers.authorization = `Bearer ${key}`;
      if (c.auth === "admin") headers.authorization = `Bearer ${gw.adminToken}`;
      const method = c.method ?? "POST";
      let body: string | undefined;
      if (method !== "GET") {
        body = c.raw ?? JSON.stringify(c.body ?? {});
        headers["content-type"] = c.contentType ?? "application/json";
      }
      let res: Response;
      let text: string;
      try {
        res = await fetch(gw.url + c.path, { method, headers, body });
        text = await res.text();
      } catch (e) {
        failures.push(`${c.name}: ${(e as Error).message} (${String((e as Error).cause)})`);
        continue;
      }
      let j: { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } } | null = null;
      try {
        j = JSON.parse(text);
      } catch {
        /* reported below */
      }
      const problems: string[] = [];
      if (res.status >= 500) problems.push(`status ${res.status}`);
      if (c.status !== undefined ? res.status !== c.status : res.status < 400 || res.status >= 500) problems.push(`status ${res.status}, expected ${c.status ?? "4xx"}`);
      const e = j?.error;
      if (res.status < 400) {
        if (problems.length) failures.push(`${c.name}: ${problems.join("; ")}`);
        continue;
      }
      if (!e || typeof e.message !== "string" || typeof e.type !== "string" || typeof e.code !== "string" || !("param" in e)) problems.push(`not the OpenAI error shape: ${text.slice(0, 200)}`);
      if (c.code && e?.code !== c.code) problems.push(`code ${String(e?.code)}, expected ${c.code}`);
      if (c.param && e?.param !== c.param) problems.push(`param ${String(e?.param)}, expected ${c.param}`);
      if (problems.length) failures.push(`${c.name} (${method} ${c.path.slice(0, 60)}): ${problems.join("; ")}`);
    }
    assert.deepEqual(failures, [], failures.join("\n"));
    // The one accepted case (GET /v1/models with a junk query) lists the upstream's models.
    assert.equal(gw.mock!.stats.requests - (gw.mock!.stats.byPath["/v1/models"] ?? 0), 0, `no refused request reached the upstream: ${JSON.stringify(gw.mock!.stats.byPath)}`);
  });

  test("deep bodies do not open the upstream's circuit: a normal request still succeeds", async () => {
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x":${deepText(20000)}}`,
      });
      assert.equal(r.status, 400);
      await r.text();
    }
    const ok = await gw.openai(key).chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    assert.ok(ok.choices[0]?.message.content);
  });

  test("steering-looking names inside a tool's JSON schema are the client's data and pass", async () => {
    const r = await gw.openai(key).chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { api_key: { type: "string" }, base_url: { type: "string" } } } } }],
    });
    assert.ok(r.choices[0]);
    const sent = gw.mock!.stats.lastBody as { tools?: unknown[] };
    assert.equal(sent.tools?.length, 1);
  });
});
