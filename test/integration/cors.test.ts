import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const OWN = "https://gw.example.com";

describeEachDb("CORS: preflights before auth, the key API from browsers, cookie routes only from the own origin", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let strict: TestGateway;
  let key: string;

  before(async () => {
    db = await createDb();
    gw = await startTestGateway({ database: db, env: { PUBLIC_URL: `${OWN}/` } });
    strict = await startTestGateway({ database: db, env: { PUBLIC_URL: OWN, CORS_ORIGINS: "https://App.Example.com:443/, https://other.example" } });
    ({ key } = await gw.createAccountWithKey());
  });
  after(async () => {
    await strict?.stop();
    await gw?.stop();
    await db?.drop();
  });

  const preflight = (base: string, path: string, origin: string, method = "POST", headers = "authorization, content-type, x-stainless-os") =>
    fetch(base + path, { method: "OPTIONS", headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers } });

  test("a preflight to the inference API is answered before auth (204, not 401) and allows what the SDK sends", async () => {
    for (const path of ["/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v1/models/openai/gpt-4o-mini", "/v1/responses", "/api/v1/openrouter/chat/completions"]) {
      const r = await preflight(gw.url, path, "https://app.example.com");
      assert.equal(r.status, 204, path);
      assert.equal(r.headers.get("access-control-allow-origin"), "*", path);
      assert.match(r.headers.get("access-control-allow-methods") ?? "", /POST/);
      assert.equal(r.headers.get("access-control-allow-headers"), "authorization, content-type, x-stainless-os");
      assert.equal(r.headers.get("access-control-allow-credentials"), null, "never credentials on the key API");
    }
  });

  test("the browser can read answers, errors and streams (Allow-Origin and exposed headers on every response)", async () => {
    const origin = { origin: "https://app.example.com" };
    const ok = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...origin, authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), "*");
    assert.match(ok.headers.get("access-control-expose-headers") ?? "", /x-request-id/);
    await ok.text();
    const stream = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...origin, authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /event-stream/);
    assert.equal(stream.headers.get("access-control-allow-origin"), "*", "streams written straight to the socket carry it too");
    assert.match(await stream.text(), /\[DONE\]/);
    const denied = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { ...origin, "content-type": "application/json" }, body: "{}" });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get("access-control-allow-origin"), "*", "errors are readable by the page");
  });

  test("cookie and admin routes: only the gateway's own origin, with credentials; foreign origins get no CORS headers", async () => {
    for (const path of ["/v1/auth/login", "/v1/auth/refresh", "/admin/accounts", "/v1/client/balance"]) {
      const foreign = await preflight(gw.url, path, "https://evil.example");
      assert.equal(foreign.status, 204, path);
      assert.equal(foreign.headers.get("access-control-allow-origin"), null, path);
      const own = await preflight(gw.url, path, OWN, "POST", "content-type, x-csrf-token");
      assert.equal(own.headers.get("access-control-allow-origin"), OWN, path);
      assert.equal(own.headers.get("access-control-allow-credentials"), "true", path);
    }
    const login = await fetch(`${gw.url}/v1/auth/login`, { method: "POST", headers: { origin: "https://evil.example", "content-type": "application/json" }, body: JSON.stringify({ email: "a@b.c", password: "x".repeat(12) }) });
    assert.equal(login.headers.get("access-control-allow-origin"), null);
    await login.text();
  });

  test("CORS_ORIGINS lists the origins allowed on the key API (normalised); others get nothing", async () => {
    const allowed = await preflight(strict.url, "/v1/chat/completions", "https://app.example.com");
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.match(allowed.headers.get("vary") ?? "", /Origin/);
    const other = await preflight(strict.url, "/v1/chat/completions", "https://evil.example");
    assert.equal(other.status, 204);
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const nullOrigin = await preflight(strict.url, "/v1/chat/completions", "null");
    assert.equal(nullOrigin.headers.get("access-control-allow-origin"), null);
  });
});
