import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { createLogger } from "../../src/core/logger.js";
import { SecretScrubber, secrets } from "../../src/core/secret-scrubber.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

test("the scrubber replaces registered values (and their URL-encoded form), longest first, and ignores short ones", () => {
  const s = new SecretScrubber();
  s.add("gk_live_Zq8/+secret");
  s.add("gk_live_Zq8/+secret_longer");
  s.add("short");
  assert.equal(s.scrub("a gk_live_Zq8/+secret_longer b gk_live_Zq8/+secret c"), "a [redacted] b [redacted] c");
  assert.equal(s.scrub(`?key=${encodeURIComponent("gk_live_Zq8/+secret")}`), "?key=[redacted]");
  assert.equal(s.scrub("short stays"), "short stays");
  assert.deepEqual(s.scrubValue({ a: ["x gk_live_Zq8/+secret"], n: 1 }), { a: ["x [redacted]"], n: 1 });
});

test("secret shapes (a key per customer) are scrubbed by one pattern; patterns must be global", () => {
  const s = new SecretScrubber();
  s.addPattern(/sk-or-v1-[A-Za-z0-9]{16,}/g);
  s.addPattern(/sk-or-v1-[A-Za-z0-9]{16,}/g);
  const k1 = `sk-or-v1-${"a1".repeat(32)}`;
  const k2 = `sk-or-v1-${"b2".repeat(32)}`;
  assert.equal(s.scrub(`first ${k1}, then ${k2}.`), "first [redacted], then [redacted].");
  assert.deepEqual(s.scrubValue({ m: [k1] }), { m: ["[redacted]"] });
  assert.equal(s.scrub("sk-or-v1-short"), "sk-or-v1-short");
  assert.throws(() => s.addPattern(/x/));
});

test("log lines never carry a registered secret, whatever field it hides in", async () => {
  const secret = `odd-shape-${randomBytes(8).toString("hex")}`;
  secrets.add(secret);
  let out = "";
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const log = createLogger({ level: "info", destination: sink });
  log.error({ err: { message: `upstream said: invalid key ${secret}` }, detail: [secret] }, `failed with ${secret}`);
  await new Promise((r) => setImmediate(r));
  assert.ok(out.includes("[redacted]"), out);
  assert.ok(!out.includes(secret), out);
});

describeEachDb("upstream secrets echoed by an upstream never reach the client", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let up: OpenAIUpstream;
  let key: string;
  // A key of no well-known shape (value-based scrubbing) and a Google-shaped one.
  const configKey = `gk_${randomBytes(18).toString("base64url")}`;
  const googleKey = `AIzaSy${randomBytes(24).toString("base64url").slice(0, 33)}`;
  const accountKey = `acct_${randomBytes(16).toString("hex")}`;

  before(async () => {
    db = await createDb();
    up = await startOpenAIUpstream();
    const p = (id: string, apiKey?: string) => ({ id, type: "openai", base_url: up.baseUrl, ...(apiKey ? { api_key: apiKey } : {}) });
    gw = await startTestGateway({
      database: db,
      config: {
        providers: [p("plain", configKey), p("google", googleKey), p("acc")],
        models: [
          { id: "t/plain", routes: [{ provider: "plain", model: "m" }], price: { input: 1, output: 1 } },
          { id: "t/google", routes: [{ provider: "google", model: "m" }], price: { input: 1, output: 1 } },
          { id: "t/acc", routes: [{ provider: "acc", model: "m" }], price: { input: 1, output: 1 } },
        ],
      },
      env: { ENCRYPTION_KEY: randomBytes(32).toString("hex"), ROUTING_RELOAD_MS: "0", ROUTING_MAX_ATTEMPTS: "1" },
    });
    const r = await gw.admin("/admin/routing/upstream-accounts", { body: { provider_id: "acc", name: "acct", api_key: accountKey } });
    assert.equal(r.status, 201, await r.clone().text());
    ({ key } = await gw.createAccountWithKey());
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    await db?.drop();
  });

  for (const [model, which] of [
    ["t/plain", "config provider key"],
    ["t/google", "Google-style key"],
    ["t/acc", "decrypted upstream-account key"],
  ] as const) {
    test(`an upstream 400 quoting the ${which} is scrubbed`, async () => {
      const secret = model === "t/plain" ? configKey : model === "t/google" ? googleKey : accountKey;
      // The mock quotes whatever Authorization it received, as a misbehaving upstream would.
      up.configure({ status: 400, error_message: `API key not valid. Please pass a valid API key. (got ${secret}; key=${encodeURIComponent(secret)})`, times: 1 });
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      const text = await res.text();
      assert.equal(res.status, 400, text);
      assert.equal(String(up.stats.lastHeaders.authorization), `Bearer ${secret}`, "the upstream did get the key");
      assert.ok(!text.includes(secret) && !text.includes(encodeURIComponent(secret)), text);
      assert.match(text, /API key not valid/);
    });
  }
});
