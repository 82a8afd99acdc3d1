import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { didFromPublicKey, rawPublicKey, signDidRequest } from "../../src/accounts/did-crypto.js";
import { confirmDeepLinkLogin, parseStartPayload } from "../../src/accounts/telegram-login.js";
import { telegramWidgetHash } from "../../src/accounts/telegram-widget.js";
import { auditLog, users } from "../../src/db/schema/index.js";
import type { AppEnv } from "../../src/http/context.js";
import { onError } from "../../src/http/errors.js";
import { apiKeyAuth } from "../../src/http/middleware/api-key-auth.js";
import { didAuthenticator } from "../../src/http/middleware/did-auth.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const BOT = "4242:TEST-login-bot";

/** A tiny cookie jar: enough for the gateway's three session cookies. */
class Jar {
  cookies = new Map<string, string>();
  take(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

describeEachDb("accounts over HTTP", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  const call = async (path: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string>; jar?: Jar } = {}) => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.jar) headers.cookie = init.jar.header();
    const res = await fetch(gw.url + path, { method: init.method ?? (init.body === undefined ? "GET" : "POST"), headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), redirect: "manual" });
    init.jar?.take(res);
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      /* not json */
    }
    return { status: res.status, json, headers: res.headers };
  };

  before(async () => {
    db = await createDb();
    gw = await startTestGateway({
      database: db,
      env: {
        KEY_CACHE_TTL_MS: "0",
        LOGIN_MAX_FAILURES_PER_ACCOUNT: "3",
        LOGIN_LOCKOUT_SEC: "60",
        TELEGRAM_BOT_TOKEN: BOT,
        TELEGRAM_MODE: "off",
        DID_AUTO_PROVISION: "true",
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("register → me → refresh (rotates) → reuse of the old refresh token ends the session → logout", async () => {
    const r = await call("/v1/auth/register", { body: { email: "Ann@Example.com", password: "ann-password-1", name: "Ann" } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json.token_type, "Bearer");
    assert.equal(r.json.user.email, "ann@example.com");
    assert.equal(r.json.user.role, "client");
    assert.equal(r.json.expires_in, 900);
    assert.equal(r.json.refresh_expires_in, 7 * 86400);
    const me = await call("/v1/auth/me", { token: r.json.access_token });
    assert.equal(me.status, 200);
    assert.equal(me.json.account.id, r.json.account.id);
    assert.equal((await call("/v1/auth/register", { body: { email: "ann@example.com", password: "whatever-123" } })).status, 409);
    assert.equal((await call("/v1/auth/register", { body: { email: "bob@example.com", password: "short" } })).status, 400);

    const r2 = await call("/v1/auth/refresh", { body: { refresh_token: r.json.refresh_token } });
    assert.equal(r2.status, 200);
    assert.notEqual(r2.json.refresh_token, r.json.refresh_token);
    const reuse = await call("/v1/auth/refresh", { body: { refresh_token: r.json.refresh_token } });
    assert.equal(reuse.status, 401);
    assert.match(reuse.json.error.message, /reuse/);
    // the whole family is gone: the newest tokens too
    assert.equal((await call("/v1/auth/refresh", { body: { refresh_token: r2.json.refresh_token } })).status, 401);
    assert.equal((await call("/v1/auth/me", { token: r2.json.access_token })).status, 401);

    const l = await call("/v1/auth/login", { body: { email: "ann@example.com", password: "ann-password-1" } });
    assert.equal(l.status, 200);
    const out = await call("/v1/auth/logout", { body: { refresh_token: l.json.refresh_token } });
    assert.deepEqual(out.json, { ok: true, revoked: true });
    assert.equal((await call("/v1/auth/me", { token: l.json.access_token })).status, 401);
    assert.equal((await call("/v1/auth/refresh", { body: { refresh_token: l.json.refresh_token } })).status, 401);
  });

  test("login brute force: 401s, then 429 too_many_attempts with Retry-After from that address, even for the right password", async () => {
    await call("/v1/auth/register", { body: { email: "carl@example.com", password: "carl-password-1" } });
    for (let i = 0; i < 2; i++) {
      const bad = await call("/v1/auth/login", { body: { email: "carl@example.com", password: `wrong-${i}` } });
      assert.equal(bad.status, 401);
      assert.equal(bad.json.error.code, "invalid_credentials");
    }
    const third = await call("/v1/auth/login", { body: { email: "carl@example.com", password: "wrong-3" } });
    assert.equal(third.status, 429);
    assert.equal(third.json.error.code, "too_many_attempts");
    assert.ok(Number(third.headers.get("retry-after")) >= 1);
    const locked = await call("/v1/auth/login", { body: { email: "CARL@example.com", password: "carl-password-1" } });
    assert.equal(locked.status, 429, "slowed down even with the right password");
    // unknown emails look exactly like wrong passwords
    const unknown = await call("/v1/auth/login", { body: { email: "nobody@example.com", password: "x-password-1" } });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.json.error.message, "Wrong email or password");
  });

  test("browser session: httpOnly cookies, CSRF required on unsafe methods, cookie refresh and logout", async () => {
    const jar = new Jar();
    const r = await call("/v1/auth/register", { body: { email: "dora@example.com", password: "dora-password-1", session: "cookie" }, jar });
    assert.equal(r.status, 201);
    assert.equal(r.json.access_token, undefined, "no tokens in the body in cookie mode");
    assert.ok(jar.cookies.has("lg_at") && jar.cookies.has("lg_rt") && jar.cookies.has("lg_csrf"));
    assert.equal(jar.cookies.get("lg_csrf"), r.json.csrf_token);
    const me = await call("/v1/auth/me", { jar });
    assert.equal(me.status, 200);
    assert.equal(me.json.user.email, "dora@example.com");
    // unsafe method without CSRF → 403; with it → works
    const noCsrf = await call("/v1/auth/api-keys", { body: { name: "k" }, jar });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.json.error.code, "csrf_failed");
    const wrongCsrf = await call("/v1/auth/api-keys", { body: { name: "k" }, jar, headers: { "x-csrf-token": "x".repeat(43) } });
    assert.equal(wrongCsrf.status, 403);
    const ok = await call("/v1/auth/api-keys", { body: { name: "k" }, jar, headers: { "x-csrf-token": r.json.csrf_token } });
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    // refresh by cookie needs CSRF too
    assert.equal((await call("/v1/auth/refresh", { method: "POST", jar })).status, 403);
    const at0 = jar.cookies.get("lg_at");
    const rf = await call("/v1/auth/refresh", { method: "POST", jar, headers: { "x-csrf-token": r.json.csrf_token } });
    assert.equal(rf.status, 200);
    assert.equal(rf.json.token_type, "cookie");
    assert.notEqual(jar.cookies.get("lg_at"), at0);
    const lo = await call("/v1/auth/logout", { method: "POST", jar, headers: { "x-csrf-token": r.json.csrf_token } });
    assert.equal(lo.json.revoked, true);
    assert.equal(jar.cookies.size, 0, "cookies cleared");
  });

  test("Telegram widget login over HTTP: valid, tampered, stale, replayed; deep link: approve once, exchange once", async () => {
    const now = Math.floor(Date.now() / 1000);
    const fields = { id: "5550001", first_name: "Tele", username: "tele", auth_date: String(now - 3) };
    const data = { ...fields, hash: telegramWidgetHash(fields, BOT) };
    const ok = await call("/v1/auth/telegram/widget", { body: data });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.user.telegram_id, 5550001);
    assert.equal((await call("/v1/auth/telegram/widget", { body: data })).status, 401, "replayed");
    assert.equal((await call("/v1/auth/telegram/widget", { body: { ...data, first_name: "Evil" } })).status, 401, "tampered");
    const staleFields = { id: "5550001", auth_date: String(now - 3600) };
    assert.equal((await call("/v1/auth/telegram/widget", { body: { ...staleFields, hash: telegramWidgetHash(staleFields, BOT) } })).status, 401, "stale");
    // redirect flow sets cookies
    const f2 = { id: "5550001", auth_date: String(now - 1) };
    const qs = new URLSearchParams({ ...f2, hash: telegramWidgetHash(f2, BOT) });
    const jar = new Jar();
    const cb = await call(`/v1/auth/telegram/callback?${qs}`, { jar });
    assert.equal(cb.status, 302);
    assert.ok(jar.cookies.has("lg_at"));

    const st = await call("/v1/auth/telegram/deep-link", { method: "POST" });
    assert.equal(st.status, 201);
    const parsed = parseStartPayload(st.json.start_param);
    assert.equal(parsed?.kind, "login");
    const pending = await call("/v1/auth/telegram/deep-link/poll", { body: { nonce: st.json.nonce, browser_secret: st.json.browser_secret } });
    assert.equal(pending.status, 202);
    const c = await confirmDeepLinkLogin(gw.gateway.deps.db, parsed!.nonce, { id: 5550002, firstName: "Bot user" });
    assert.equal(c.ok, true);
    assert.equal((await confirmDeepLinkLogin(gw.gateway.deps.db, parsed!.nonce, { id: 5550003 })).ok, false, "nonce is one-time");
    assert.equal((await call("/v1/auth/telegram/deep-link/poll", { body: { nonce: st.json.nonce, browser_secret: "stolen-nonce-other-browser" } })).status, 404);
    const done = await call("/v1/auth/telegram/deep-link/poll", { body: { nonce: st.json.nonce, browser_secret: st.json.browser_secret } });
    assert.equal(done.status, 200);
    assert.equal(done.json.user.telegram_id, 5550002);
    assert.equal((await call("/v1/auth/telegram/deep-link/poll", { body: { nonce: st.json.nonce, browser_secret: st.json.browser_secret } })).status, 404, "exchanged once");
  });

  test("key management: create (secret once), list masked, update, rotate with grace, revoke; blocked user's keys stop", async () => {
    const r = await call("/v1/auth/register", { body: { email: "eve@example.com", password: "eve-password-1" } });
    const t = r.json.access_token;
    const k = await call("/v1/auth/api-keys", { token: t, body: { name: "ci", limits: { daily_tokens: 1000 }, allowed_models: ["openai/gpt-4o-mini"] } });
    assert.equal(k.status, 201, JSON.stringify(k.json));
    assert.match(k.json.secret, /^sk-gw-/);
    assert.ok(k.json.key.endsWith("…"));
    const list = await call("/v1/auth/api-keys", { token: t });
    assert.equal(list.json.data.length, 1);
    assert.ok(!JSON.stringify(list.json).includes(k.json.secret));
    // the key works for inference (balance 0 with no-op billing is fine for the mock)
    const models = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${k.json.secret}` } });
    assert.equal(models.status, 200);
    // clients may tighten limits but not loosen them or touch rate limits
    assert.equal((await call(`/v1/auth/api-keys/${k.json.id}`, { method: "PATCH", token: t, body: { limits: { daily_tokens: 500 } } })).status, 200);
    assert.equal((await call(`/v1/auth/api-keys/${k.json.id}`, { method: "PATCH", token: t, body: { limits: { daily_tokens: 5000 } } })).status, 403);
    assert.equal((await call(`/v1/auth/api-keys/${k.json.id}`, { method: "PATCH", token: t, body: { limits: {} } })).status, 403);
    assert.equal((await call(`/v1/auth/api-keys/${k.json.id}`, { method: "PATCH", token: t, body: { rate_limits: { rpm: 100000 } } })).status, 403);
    assert.equal((await call(`/v1/auth/api-keys/${k.json.id}`, { method: "PATCH", token: t, body: { ip_allowlist: ["not-an-ip"] } })).status, 400);
    const dis = await call(`/v1/auth/api-keys/${k.json.id}`, { method: "PATCH", token: t, body: { status: "disabled", name: "ci-2" } });
    assert.equal(dis.json.status, "disabled");
    assert.equal((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${k.json.secret}` } })).status, 403);
    await call(`/v1/auth/api-keys/${k.json.id}`, { method: "PATCH", token: t, body: { status: "active" } });

    const rot = await call(`/v1/auth/api-keys/${k.json.id}/rotate`, { token: t, body: { grace_seconds: 1 } });
    assert.equal(rot.status, 200);
    assert.notEqual(rot.json.secret, k.json.secret);
    assert.ok(rot.json.previous_key_valid_until);
    const use = (s: string) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${s}` } }).then((x) => x.status);
    assert.equal(await use(k.json.secret), 200, "old secret works during the grace period");
    assert.equal(await use(rot.json.secret), 200);
    await new Promise((res) => setTimeout(res, 1100));
    assert.equal(await use(k.json.secret), 401, "old secret dead after the grace period");
    assert.equal(await use(rot.json.secret), 200);

    // an admin blocks the user: the key bound to the user stops, the session ends
    const userId = r.json.user.id;
    const blk = await gw.admin(`/admin/users/${userId}`, { method: "PATCH", body: { status: "blocked" } });
    assert.equal(blk.status, 200);
    assert.equal(await use(rot.json.secret), 403);
    const me = await call("/v1/auth/me", { token: t });
    assert.equal(me.status, 401, "blocking ended the session");
    assert.match(me.json.error.message, /session has ended/);
    assert.equal((await call("/v1/auth/login", { body: { email: "eve@example.com", password: "eve-password-1" } })).status, 403, "and login is refused");
    await gw.admin(`/admin/users/${userId}`, { method: "PATCH", body: { status: "active" } });
    const del = await call("/v1/auth/api-keys/" + k.json.id, { method: "DELETE", token: (await call("/v1/auth/login", { body: { email: "eve@example.com", password: "eve-password-1" } })).json.access_token });
    assert.equal(del.json.status, "revoked");
    assert.equal(await use(rot.json.secret), 403);
    // every one of those writes is in the audit log
    const audit = await gw.admin(`/admin/audit-log?target_id=${k.json.id}`);
    const actions = ((await audit.json()) as { data: Array<{ action: string }> }).data.map((a) => a.action);
    for (const a of ["key.create", "key.update", "key.rotate", "key.revoke"]) assert.ok(actions.includes(a), `${a} audited (${actions})`);
    const rows = await gw.gateway.deps.db.select().from(auditLog).where(eq(auditLog.targetId, userId));
    assert.deepEqual(rows.map((x) => x.action).sort(), ["user.block", "user.register", "user.unblock"]);
  });

  test("an admin user's session passes the admin API; a client's session gets 403", async () => {
    const r = await call("/v1/auth/register", { body: { email: "root@example.com", password: "root-password-1" } });
    const client = await call("/admin/accounts", { token: r.json.access_token });
    assert.equal(client.status, 403);
    await gw.gateway.deps.db.update(users).set({ role: "admin" }).where(eq(users.id, r.json.user.id));
    // role is read live: the same token is now an admin's
    const admin = await call("/admin/accounts?q=root@example.com", { token: r.json.access_token });
    assert.equal(admin.status, 200);
    assert.equal(admin.json.data.length, 1);
    const stats = await call("/v1/admin/stats", { token: r.json.access_token });
    assert.equal(stats.status, 200);
    assert.ok(stats.json.accounts.total >= 4);
    const blk = await call(`/admin/accounts/${admin.json.data[0].id}`, { method: "PATCH", token: r.json.access_token, body: { name: "Root Inc" } });
    assert.equal(blk.status, 200);
    const audit = await gw.admin(`/admin/audit-log?actor=admin:${r.json.user.id}`);
    assert.equal(((await audit.json()) as { data: unknown[] }).data.length, 1);
    assert.equal((await call("/admin/accounts", { token: "not.a.jwt" })).status, 401);
  });

  test("DID: /api/v1/usage answers for the DID's account; DID works through the API-key middleware (inference)", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const did = didFromPublicKey(rawPublicKey(publicKey));
    const sign = (method: string, path: string, body = "") => signDidRequest(privateKey, did, { method, pathWithQuery: path, body });
    const u = await fetch(`${gw.url}/api/v1/usage`, { headers: sign("GET", "/api/v1/usage") });
    assert.equal(u.status, 200, await u.clone().text());
    const usage = (await u.json()) as { did: string; account_id: string; requests: number };
    assert.equal(usage.did, did);
    assert.equal(usage.requests, 0);
    const replay = sign("GET", "/api/v1/usage");
    assert.equal((await fetch(`${gw.url}/api/v1/usage`, { headers: replay })).status, 200);
    const again = await fetch(`${gw.url}/api/v1/usage`, { headers: replay });
    assert.equal(again.status, 401);
    assert.match(((await again.json()) as { error: { message: string } }).error.message, /already used/);
    assert.equal((await fetch(`${gw.url}/api/v1/usage?x=1`, { headers: sign("GET", "/api/v1/usage") })).status, 401, "path with query is signed");

    // The lead's apiKeyAuth with the DID alternative, on a route that reads the JSON body afterwards.
    const app = new Hono<AppEnv>();
    app.use("/v1/echo", apiKeyAuth(gw.gateway.deps, { scope: "inference", alternatives: [didAuthenticator(gw.gateway.deps)] }));
    app.post("/v1/echo", async (c) => c.json({ account: c.get("auth").accountId, body: await c.req.json() }));
    app.onError(onError as never);
    const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] });
    const res = await app.request("/v1/echo", { method: "POST", body, headers: { "content-type": "application/json", ...sign("POST", "/v1/echo", body) } });
    assert.equal(res.status, 200);
    const echoed = (await res.json()) as { account: string; body: { model: string } };
    assert.equal(echoed.account, usage.account_id, "same AuthContext account as the DID's key");
    assert.equal(echoed.body.model, "m", "the body is still readable after signature verification");
    const tampered = await app.request("/v1/echo", { method: "POST", body: body.replace("hi", "ho"), headers: { "content-type": "application/json", ...sign("POST", "/v1/echo", body) } });
    assert.equal(tampered.status, 401);
    const noDid = await app.request("/v1/echo", { method: "POST", body });
    assert.equal(noDid.status, 401);
  });
});
