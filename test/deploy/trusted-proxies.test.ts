import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Agent, fetch as undiciFetch } from "undici";
import { clientAddress, IpAllowlist } from "../../src/core/ip.js";
import { loadEnv } from "../../src/config/env.js";
import { createPgliteDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { startReverseProxy, type TestReverseProxy } from "../helpers/reverse-proxy.js";

test("clientAddress walks X-Forwarded-For from the right, only through trusted proxies", () => {
  const trusted = new IpAllowlist(["10.0.0.0/8", "127.0.0.2"]);
  assert.equal(clientAddress("203.0.113.9", "1.2.3.4", trusted), "203.0.113.9", "an untrusted peer's header is ignored");
  assert.equal(clientAddress("127.0.0.2", "198.51.100.7", trusted), "198.51.100.7");
  assert.equal(clientAddress("::ffff:127.0.0.2", "6.6.6.6, 198.51.100.7, 10.1.2.3", trusted), "198.51.100.7", "client-supplied entries left of the real hop are not believed");
  assert.equal(clientAddress("127.0.0.2", "10.0.0.5, 10.0.0.6", trusted), "10.0.0.5", "all hops trusted: the leftmost");
  assert.equal(clientAddress("127.0.0.2", "garbage", trusted), "127.0.0.2", "a malformed entry stops the walk at the proxy");
  assert.equal(clientAddress("127.0.0.2", undefined, trusted), "127.0.0.2");
  assert.equal(clientAddress("127.0.0.2", "2001:db8::1", trusted), "2001:db8::1");
});

test("TRUSTED_PROXIES accepts addresses and CIDRs and refuses anything else", () => {
  assert.deepEqual(loadEnv({ TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8,::1" }).TRUSTED_PROXIES, ["127.0.0.1", "10.0.0.0/8", "::1"]);
  assert.deepEqual(loadEnv({}).TRUSTED_PROXIES, []);
  assert.throws(() => loadEnv({ TRUSTED_PROXIES: "10.0.0.0/33" }), /TRUSTED_PROXIES/);
  assert.throws(() => loadEnv({ TRUSTED_PROXIES: "proxy.local" }), /TRUSTED_PROXIES/);
});

/** fetch from a chosen loopback source address (127.0.0.0/8 is all ours). */
function from(address: string) {
  const dispatcher = new Agent({ localAddress: address });
  return {
    fetch: (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => undiciFetch(url, { ...init, dispatcher }),
    close: () => dispatcher.close(),
  };
}

describe("behind a reverse proxy listed in TRUSTED_PROXIES", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let proxy: TestReverseProxy;
  const clientA = from("127.0.0.3");
  const clientB = from("127.0.0.5");
  const stranger = from("127.0.0.4");
  let key: string;

  before(async () => {
    db = await createPgliteDb();
    gw = await startTestGateway({
      database: db,
      env: { TRUSTED_PROXIES: "127.0.0.2/32", KEY_CACHE_TTL_MS: "0", LOGIN_MAX_FAILURES_PER_IP: "3", LOGIN_MAX_FAILURES_PER_ACCOUNT: "100", LOGIN_LOCKOUT_SEC: "60" },
    });
    proxy = await startReverseProxy(gw.url, "127.0.0.2");
    // A user's key, limited to the client addresses 127.0.0.3 and 127.0.9.0/24.
    const reg = await (await fetch(gw.url + "/v1/auth/register", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "ops@example.com", password: "ops-password-1" }) })).json() as { access_token: string };
    const auth = { authorization: `Bearer ${reg.access_token}`, "content-type": "application/json" };
    const k = await (await fetch(gw.url + "/v1/auth/api-keys", { method: "POST", headers: auth, body: JSON.stringify({ name: "office" }) })).json() as { id: string; secret: string };
    key = k.secret;
    const bad = await fetch(gw.url + `/v1/auth/api-keys/${k.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ ip_allowlist: ["127.0.9.0/33"] }) });
    assert.equal(bad.status, 400, "a bad CIDR is a 400");
    const p = await fetch(gw.url + `/v1/auth/api-keys/${k.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ ip_allowlist: ["127.0.0.3", "127.0.9.0/24"] }) });
    assert.equal(p.status, 200, await p.text());
  });
  after(async () => {
    await Promise.all([clientA.close(), clientB.close(), stranger.close()]);
    await proxy?.close();
    await gw?.stop();
    await db?.drop();
  });

  const models = (c: ReturnType<typeof from>, base: string, xff?: string) =>
    c.fetch(base + "/v1/models", { headers: { authorization: `Bearer ${key}`, ...(xff ? { "x-forwarded-for": xff } : {}) } }).then(async (r) => ({ status: r.status, body: await r.text() }));

  test("the per-key IP allowlist sees the real client through the proxy, and CIDR ranges match", async () => {
    assert.equal((await models(clientA, proxy.url)).status, 200, "127.0.0.3 via the trusted proxy");
    const b = await models(clientB, proxy.url);
    assert.equal(b.status, 403, "127.0.0.5 via the proxy is not on the list");
    assert.match(b.body, /ip_not_allowed/);
    // A range: a client claiming 127.0.9.7 in front of the proxy is believed only because the proxy is trusted.
    assert.equal((await models(clientB, proxy.url, "127.0.9.7")).status, 403, "entries left of the proxy's own are the client's claims");
  });

  test("from an untrusted peer X-Forwarded-For is ignored", async () => {
    assert.equal((await models(stranger, gw.url, "127.0.0.3")).status, 403, "a spoofed header does not pass the allowlist");
    assert.equal((await models(clientA, gw.url)).status, 200, "127.0.0.3 directly is its own address");
  });

  test("the login throttle counts the real client address, not the proxy's", async () => {
    const login = (c: ReturnType<typeof from>, base: string, email: string, xff?: string) =>
      c
        .fetch(base + "/v1/auth/login", { method: "POST", headers: { "content-type": "application/json", ...(xff ? { "x-forwarded-for": xff } : {}) }, body: JSON.stringify({ email, password: "wrong-password-1" }) })
        .then(async (r) => (await r.arrayBuffer(), r.status));
    // The third failure locks the address out (LOGIN_MAX_FAILURES_PER_IP=3).
    for (let i = 0; i < 2; i++) assert.equal(await login(clientA, proxy.url, `a${i}@example.com`), 401);
    assert.equal(await login(clientA, proxy.url, "a2@example.com"), 429);
    assert.equal(await login(clientA, proxy.url, "a9@example.com"), 429, "client A stays locked out");
    assert.equal(await login(clientB, proxy.url, "b0@example.com"), 401, "client B through the same proxy is not");
    // Untrusted peer: rotating X-Forwarded-For does not give it fresh counters.
    for (let i = 0; i < 2; i++) assert.equal(await login(stranger, gw.url, `s${i}@example.com`, `192.0.2.${i}`), 401);
    assert.equal(await login(stranger, gw.url, "s2@example.com", "192.0.2.2"), 429);
    assert.equal(await login(stranger, gw.url, "s9@example.com", "192.0.2.99"), 429);
  });
});
