import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { getRequestListener } from "@hono/node-server";
import { createApp } from "../../src/http/app.js";
import { createPgliteDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * The inference front (src/http/inference-front.ts) against Hono's own chain over the same services:
 * the front must really take plain API calls, and both paths must answer the same bad input with the
 * same status, headers and body (and count it under the same metrics series), so they cannot drift.
 */
const MAX_BODY = 8192;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Headers that differ per request or per connection, not per path. */
const VOLATILE = new Set(["date", "x-request-id", "x-router-log-id", "connection", "keep-alive"]);

async function call(base: string, path: string, init: { headers?: Record<string, string>; body: string }): Promise<Answer> {
  const res = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json", ...init.headers }, body: init.body });
  const text = await res.text();
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!VOLATILE.has(k)) headers[k] = v;
  });
  const id = res.headers.get("x-request-id");
  assert.match(id ?? "", /^req_/, `${path}: x-request-id`);
  const body = JSON.parse(text) as { error?: { request_id?: string } };
  if (body.error) {
    assert.equal(body.error.request_id, id, "the body names the request id of the header");
    delete body.error.request_id;
  }
  return { status: res.status, headers, body };
}

describe("inference front vs Hono's chain [pglite]", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let honoOnly: Server;
  let honoUrl: string;
  let key: string;
  let brokeKey: string;
  let limitedKey: string;

  before(async () => {
    db = await createPgliteDb();
    gw = await startTestGateway({ database: db, env: { MAX_BODY_BYTES: String(MAX_BODY), METRICS_ENABLED: "true" } });
    key = (await gw.createAccountWithKey()).key;
    brokeKey = (await gw.createAccountWithKey({ balance: "0.00" })).key;
    limitedKey = (await gw.createAccountWithKey({ key: { allowed_models: ["gpt-4o"] } })).key;
    // Hono alone (what INFERENCE_FRONT=false serves), over the very services of the running gateway.
    honoOnly = createServer(getRequestListener(createApp(gw.gateway.deps).fetch, { hostname: "127.0.0.1" }));
    await new Promise<void>((r) => honoOnly.listen(0, "127.0.0.1", () => r()));
    honoUrl = `http://127.0.0.1:${(honoOnly.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => honoOnly.close(() => r()));
    await gw.stop();
    await db.close();
  });

  const chat = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...extra });

  test("plain API calls are served by the front; calls that need Hono's chain are not", async () => {
    const front = gw.gateway.front!;
    assert.ok(front, "INFERENCE_FRONT is on by default");
    const before = front.stats.handled;
    const completion = await gw.openai(key).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    assert.ok(completion.choices[0]?.message.content);
    await gw.openai(key).embeddings.create({ model: "text-embedding-3-small", input: "hi" });
    const alias = await fetch(`${gw.url}/api/v1/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", prompt: "hi" }) });
    assert.equal(alias.status, 200);
    await alias.text();
    assert.equal(front.stats.handled, before + 3, "chat, embeddings and the /api/v1 alias went through the front");

    // A browser call (CORS headers to add) and the OpenRouter proxy path stay on Hono, and still work.
    const browser = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", origin: "https://app.example" }, body: chat() });
    assert.equal(browser.status, 200);
    assert.equal(browser.headers.get("access-control-allow-origin"), "*");
    await browser.text();
    const proxied = await fetch(`${gw.url}/api/v1/openrouter/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: chat() });
    assert.equal(proxied.status, 200);
    await proxied.text();
    assert.equal(front.stats.handled, before + 3, "neither went through the front");
  });

  test("a successful answer has the same status, headers and shape on both paths", async () => {
    const init = { headers: { authorization: `Bearer ${key}` }, body: chat() };
    const viaFront = await call(gw.url, "/v1/chat/completions", init);
    const viaHono = await call(honoUrl, "/v1/chat/completions", init);
    assert.equal(viaFront.status, 200);
    assert.deepEqual(Object.keys(viaFront.headers).sort(), Object.keys(viaHono.headers).sort());
    for (const k of ["content-type", "x-gateway-provider", "x-gateway-model"]) assert.equal(viaFront.headers[k], viaHono.headers[k], k);
    assert.deepEqual(Object.keys(viaFront.body as object).sort(), Object.keys(viaHono.body as object).sort());
  });

  const CASES: Array<{ name: string; path?: string; headers?: Record<string, string>; body: string; status: number; code: string }> = [
    { name: "missing key", body: chat(), status: 401, code: "missing_api_key" },
    { name: "a Bearer that is no API key", headers: { authorization: "Bearer not-a-key" }, body: chat(), status: 401, code: "invalid_api_key" },
    { name: "an unknown key", headers: { authorization: `Bearer sk-gw-${"x".repeat(40)}` }, body: chat(), status: 401, code: "invalid_api_key" },
    { name: "malformed JSON", headers: { authorization: "KEY" }, body: "{not json", status: 400, code: "invalid_json" },
    { name: "body over MAX_BODY_BYTES", headers: { authorization: "KEY" }, body: chat({ pad: "x".repeat(MAX_BODY) }), status: 413, code: "payload_too_large" },
    { name: "schema failure (no messages)", headers: { authorization: "KEY" }, body: chat({ messages: [] }), status: 400, code: "invalid_request" },
    { name: "upstream-steering field", path: "/v1/embeddings", headers: { authorization: "KEY" }, body: JSON.stringify({ model: "m", input: "a", api_base: "http://x" }), status: 400, code: "forbidden_parameter" },
    { name: "unknown model (the upstream's 404)", headers: { authorization: "KEY" }, body: chat({ model: "openai/nonexistent-model" }), status: 404, code: "model_not_found" },
    { name: "model the key may not use", headers: { authorization: "LIMITED" }, body: chat(), status: 403, code: "model_not_allowed" },
    { name: "no balance (402)", headers: { authorization: "BROKE" }, body: chat(), status: 402, code: "insufficient_quota" },
  ];

  for (const c of CASES) {
    test(`same error on both paths: ${c.name}`, async () => {
      gw.mock!.refuseModels("openai/nonexistent-model");
      const auth = c.headers?.authorization;
      const secret = auth === "KEY" ? key : auth === "BROKE" ? brokeKey : auth === "LIMITED" ? limitedKey : undefined;
      const headers = secret ? { authorization: `Bearer ${secret}` } : (c.headers ?? {});
      const path = c.path ?? "/v1/chat/completions";
      const front = gw.gateway.front!;
      const metrics = gw.gateway.deps.metrics!.set.httpRequests;

      const handled = front.stats.handled;
      const m0 = (await metrics.get()).values.map((v) => ({ ...v }));
      const viaFront = await call(gw.url, path, { headers, body: c.body });
      assert.equal(front.stats.handled, handled + 1, "the front took it");
      const m1 = (await metrics.get()).values.map((v) => ({ ...v }));
      const viaHono = await call(honoUrl, path, { headers, body: c.body });
      const m2 = (await metrics.get()).values.map((v) => ({ ...v }));

      assert.equal(viaFront.status, c.status, JSON.stringify(viaFront.body));
      assert.equal((viaFront.body as { error: { code: string } }).error.code, c.code);
      assert.deepEqual(viaFront, viaHono);
      assert.deepEqual(seriesCounted(m0, m1), seriesCounted(m1, m2), "both paths count it under the same route and status");
    });
  }
});

type Series = { labels: Record<string, string | number>; value: number };

/** The label sets whose counter went up between two readings. */
function seriesCounted(a: Series[], b: Series[]): string[] {
  const key = (s: Series) => JSON.stringify(Object.entries(s.labels).sort());
  const before = new Map(a.map((s) => [key(s), s.value]));
  return b.filter((s) => s.value > (before.get(key(s)) ?? 0)).map(key).sort();
}
