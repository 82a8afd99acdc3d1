import { providerSettings } from "../../src/main/settings.js";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { randomBytes } from "node:crypto";
import type { LookupAddress } from "node:dns";
import { baseUrlProblem, classifyAddress, DEFAULT_ADDRESS_POLICY } from "../../src/providers/base-url-guard.js";
import { UpstreamClient, UpstreamFailure } from "../../src/proxy/upstream.js";
import { startOpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { loadEnv } from "../../src/config/env.js";
import { toProviderTarget } from "../../src/providers/index.js";

const strict = { allowLoopback: false, allowPrivate: false };

const ALWAYS_REFUSED = [
  "gopher://127.0.0.1:6379/_FLUSHALL",
  "file:///etc/passwd",
  "ftp://example.com/",
  "http://169.254.169.254/latest/meta-data/",
  "http://169.254.0.1/",
  "http://[::ffff:169.254.169.254]/",
  "http://[::ffff:a9fe:a9fe]/",
  "http://[64:ff9b::169.254.169.254]/",
  "http://[fe80::1]/",
  "http://[fd00:ec2::254]/",
  "http://0xa9fea9fe/",
  "http://2852039166/",
  "http://0251.0376.0251.0376/",
  "http://metadata.google.internal/computeMetadata/v1/",
  "http://METADATA.GOOGLE.INTERNAL./",
  "http://100.100.100.200/",
  "http://0.0.0.0:4000/",
  "http://[::]/",
  "http://224.0.0.1/",
  "http://user:pass@example.com/",
];

test("always refused, whatever the policy: non-http(s), link-local and metadata in every spelling", () => {
  for (const url of ALWAYS_REFUSED) {
    assert.ok(baseUrlProblem(url, DEFAULT_ADDRESS_POLICY), `refused by default: ${url}`);
    assert.ok(baseUrlProblem(url, { allowLoopback: true, allowPrivate: true }), `refused when everything is allowed: ${url}`);
  }
});

test("loopback and private ranges follow the policy; numeric spellings are normalised first", () => {
  const loopback = ["http://127.0.0.1:4000/v1", "http://0x7f000001/", "http://2130706433/", "http://0177.0.0.1/", "http://[::1]:4000/", "http://localhost:4000/", "http://api.localhost/", "http://[::ffff:127.0.0.1]/"];
  const priv = ["http://10.0.0.5/", "http://172.17.0.2:4000/", "http://192.168.1.10/", "http://100.64.0.1/", "http://[fd12::1]/", "http://[::ffff:10.0.0.1]/"];
  for (const url of loopback) {
    assert.equal(baseUrlProblem(url, DEFAULT_ADDRESS_POLICY), null, url);
    assert.match(baseUrlProblem(url, strict) ?? "", /loopback/, url);
  }
  for (const url of priv) {
    assert.equal(baseUrlProblem(url, DEFAULT_ADDRESS_POLICY), null, url);
    assert.match(baseUrlProblem(url, strict) ?? "", /private/, url);
  }
  for (const url of ["https://openrouter.ai/api/v1", "http://8.8.8.8/", "http://[2001:4860::8888]/", "https://litellm.internal.example/"]) {
    assert.equal(baseUrlProblem(url, strict), null, url);
  }
  assert.equal(classifyAddress("172.32.0.1"), "public");
  assert.equal(classifyAddress("::ffff:169.254.169.254"), "link_local");
});

test("the config file (and env shortcuts) refuse a bad base_url at start-up", () => {
  const env = loadEnv({});
  assert.throws(() => toProviderTarget({ id: "x", type: "openai", base_url: "http://169.254.169.254/v1", model_prefix: "", enabled: true }, providerSettings(env), null), /provider "x": base_url points at a link-local/);
  assert.throws(() => toProviderTarget({ id: "x", type: "openai", base_url: "gopher://h/", model_prefix: "", enabled: true }, providerSettings(env), null), /must be http or https/);
  const strictEnv = loadEnv({ UPSTREAM_ALLOW_LOOPBACK: "false" });
  assert.throws(() => toProviderTarget({ id: "x", type: "litellm", base_url: "http://127.0.0.1:4000", model_prefix: "", enabled: true }, providerSettings(strictEnv), null), /loopback/);
  assert.ok(toProviderTarget({ id: "x", type: "litellm", base_url: "http://127.0.0.1:4000", model_prefix: "", enabled: true }, providerSettings(env), null));
});

test("checked again at connect time: a name that now resolves to a metadata address is refused; IP literals too", async () => {
  const mock = await startOpenAIUpstream();
  try {
    const port = new URL(mock.baseUrl).port;
    let answer = "127.0.0.1";
    const resolve = ((_h: string, _o: unknown, cb: (e: null, a: LookupAddress[]) => void) => cb(null, [{ address: answer, family: 4 }])) as never;
    const client = new UpstreamClient({ addressPolicy: DEFAULT_ADDRESS_POLICY, resolve });
    const t = { connectMs: 1000, firstByteMs: 2000, idleMs: 2000, totalMs: 5000 };
    const req = (host: string) => ({ url: `http://${host}:${port}/v1/models`, method: "GET" as const, headers: {}, body: undefined });
    const ok = await client.send(req("rebind.example"), t);
    assert.equal(ok.status, 200);
    await ok.body.text();
    ok.finish();
    // DNS now answers with the metadata address (rebinding); a new connection must not be made.
    answer = "169.254.169.254";
    const fresh = new UpstreamClient({ addressPolicy: DEFAULT_ADDRESS_POLICY, resolve });
    await assert.rejects(fresh.send(req("rebind.example"), t), (e: unknown) => e instanceof UpstreamFailure && e.kind === "connect" && /link-local/.test(e.message));
    const strictClient = new UpstreamClient({ addressPolicy: strict, resolve });
    await assert.rejects(strictClient.send(req("127.0.0.1"), t), (e: unknown) => e instanceof UpstreamFailure && /loopback/.test(e.message));
    await Promise.all([client.close(), fresh.close(), strictClient.close()]);
  } finally {
    await mock.close();
  }
});

describeEachDb("admin API refuses provider base URLs that point where upstreams may not", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  before(async () => {
    db = await createDb();
    gw = await startTestGateway({ database: db, env: { ENCRYPTION_KEY: randomBytes(32).toString("hex"), ROUTING_RELOAD_MS: "0" } });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("POST and PATCH /admin/routing/providers: 400 upstream_url_not_allowed, param base_url", async () => {
    for (const url of ALWAYS_REFUSED) {
      const r = await gw.admin("/admin/routing/providers", { body: { id: `p${randomBytes(3).toString("hex")}`, type: "openai", base_url: url } });
      const j = (await r.json()) as { error?: { code: string; param: string } };
      // A URL zod itself rejects (not a URL at all) is a 400 too; every one names base_url.
      assert.equal(r.status, 400, `${url}: ${JSON.stringify(j)}`);
      assert.equal(j.error?.param, "base_url", url);
    }
    const ok = await gw.admin("/admin/routing/providers", { body: { id: "lite", type: "litellm", base_url: "http://127.0.0.1:4000" } });
    assert.equal(ok.status, 201, await ok.clone().text());
    const bad = await gw.admin("/admin/routing/providers/lite", { method: "PATCH", body: { base_url: "http://[::ffff:169.254.169.254]/" } });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "upstream_url_not_allowed");
  });
});
