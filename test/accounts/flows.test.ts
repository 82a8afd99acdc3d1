import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { authenticateDid, provisionDid } from "../../src/accounts/did.js";
import { didFromPublicKey, rawPublicKey, signDidRequest } from "../../src/accounts/did-crypto.js";
import { pruneAuthState } from "../../src/accounts/replay.js";
import { resolveJwtSecret } from "../../src/accounts/secrets.js";
import {
  checkCsrfToken,
  createSession,
  principalFromAccessToken,
  refreshSession,
  revokeSession,
  sessionOfRefreshToken,
  type TokenSettings,
} from "../../src/accounts/sessions.js";
import {
  confirmDeepLinkLogin,
  confirmTelegramLink,
  exchangeDeepLinkLogin,
  loginWithTelegramWidget,
  parseStartPayload,
  startDeepLinkLogin,
  startTelegramLink,
} from "../../src/accounts/telegram-login.js";
import { telegramWidgetHash } from "../../src/accounts/telegram-widget.js";
import { checkPassword, createAccount, createUser } from "../../src/accounts/users.js";
import { apiKeys, authSecrets, users } from "../../src/db/schema/index.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";

const FAST = { N: 1 << 10, r: 8, p: 1 };

describeEachDb("accounts flows", (_kind, create) => {
  let d: TestDatabase;
  let s: TokenSettings;
  before(async () => {
    d = await create();
    const sec = await resolveJwtSecret(d.db, undefined);
    s = { secret: sec.secret, accessTtlSec: 900, refreshTtlSec: 7 * 86400 };
  });
  after(async () => {
    await d.drop();
  });

  test("JWT secret is generated once and reused (restarts keep sessions); env wins", async () => {
    const again = await resolveJwtSecret(d.db, undefined);
    assert.equal(again.secret, s.secret);
    assert.equal(again.source, "database");
    assert.equal((await d.db.select().from(authSecrets)).length, 1);
    assert.equal((await resolveJwtSecret(d.db, "e".repeat(32))).source, "env");
  });

  test("password check: right, wrong, unknown, blocked", async () => {
    const acct = await createAccount(d.db, { name: "pw" });
    const u = await createUser(d.db, { accountId: acct.id, email: "Pw@Example.com", password: "hunter22hunter", role: "client" }, FAST);
    assert.equal(u.email, "pw@example.com");
    const ok = await checkPassword(d.db, " PW@example.com ", "hunter22hunter");
    assert.equal(ok.ok, true);
    assert.deepEqual(await checkPassword(d.db, "pw@example.com", "nope-nope-nope"), { ok: false, reason: "bad_credentials" });
    assert.deepEqual(await checkPassword(d.db, "who@example.com", "hunter22hunter"), { ok: false, reason: "bad_credentials" });
    await d.db.update(users).set({ status: "blocked" }).where(eq(users.id, u.id));
    assert.deepEqual(await checkPassword(d.db, "pw@example.com", "hunter22hunter"), { ok: false, reason: "user_blocked" });
  });

  test("session: access token expiry, refresh rotation, reuse of an old refresh token revokes the family", async () => {
    const acct = await createAccount(d.db, { name: "s" });
    const u = await createUser(d.db, { accountId: acct.id, email: "s@example.com" });
    let t = 1_800_000_000_000;
    const first = await createSession(d.db, s, u, { method: "password", ip: "1.2.3.4" }, t);
    const p = await principalFromAccessToken(d.db, s, first.accessToken, t + 60_000);
    assert.equal(p.ok && p.principal.user.id, u.id);
    assert.deepEqual(await principalFromAccessToken(d.db, s, first.accessToken, t + 900_000), { ok: false, reason: "expired" });
    assert.equal(checkCsrfToken(s.secret, first.sessionId, first.csrfToken), true);
    assert.equal(checkCsrfToken(s.secret, "ses_other", first.csrfToken), false);

    t += 1000 * 1000;
    const second = await refreshSession(d.db, s, first.refreshToken, t);
    assert.equal(second.ok, true);
    if (!second.ok) return;
    assert.notEqual(second.tokens.refreshToken, first.refreshToken);
    assert.equal(second.tokens.sessionId, first.sessionId, "same family");
    assert.equal(second.tokens.csrfToken, first.csrfToken, "CSRF token stable across rotation");
    const third = await refreshSession(d.db, s, second.tokens.refreshToken, t + 1);
    assert.equal(third.ok, true);
    if (!third.ok) return;
    // The thief replays the first (spent) token: whole family dies, including the newest token.
    assert.deepEqual(await refreshSession(d.db, s, first.refreshToken, t + 2), { ok: false, reason: "reused" });
    assert.deepEqual(await refreshSession(d.db, s, third.tokens.refreshToken, t + 3), { ok: false, reason: "revoked" });
    assert.deepEqual(await principalFromAccessToken(d.db, s, third.tokens.accessToken, t + 4), { ok: false, reason: "revoked" });
    assert.deepEqual(await refreshSession(d.db, s, "rt_nonsense", t), { ok: false, reason: "invalid" });
  });

  test("session: refresh token expires after its TTL; logout revokes; blocked user can't refresh", async () => {
    const acct = await createAccount(d.db, { name: "e" });
    const u = await createUser(d.db, { accountId: acct.id, email: "e@example.com" });
    const t = 1_800_000_000_000;
    const a = await createSession(d.db, s, u, { method: "password" }, t);
    assert.deepEqual(await refreshSession(d.db, s, a.refreshToken, t + 7 * 86400_000), { ok: false, reason: "expired" });
    const b = await createSession(d.db, s, u, { method: "password" }, t);
    assert.equal(await sessionOfRefreshToken(d.db, b.refreshToken), b.sessionId);
    assert.equal(await revokeSession(d.db, b.sessionId, "logout"), true);
    assert.deepEqual(await refreshSession(d.db, s, b.refreshToken, t + 1), { ok: false, reason: "revoked" });
    const c = await createSession(d.db, s, u, { method: "password" }, t);
    await d.db.update(users).set({ status: "blocked" }).where(eq(users.id, u.id));
    assert.deepEqual(await refreshSession(d.db, s, c.refreshToken, t + 1), { ok: false, reason: "user_blocked" });
    assert.deepEqual(await principalFromAccessToken(d.db, s, c.accessToken, t + 1), { ok: false, reason: "user_blocked" });
  });

  test("concurrent refreshes with one token: exactly one wins", async () => {
    const acct = await createAccount(d.db, { name: "c" });
    const u = await createUser(d.db, { accountId: acct.id, email: "c@example.com" });
    const t = Date.now();
    const a = await createSession(d.db, s, u, { method: "password" }, t);
    const rs = await Promise.all([1, 2, 3].map(() => refreshSession(d.db, s, a.refreshToken, t + 1)));
    assert.equal(rs.filter((r) => r.ok).length, 1, JSON.stringify(rs.map((r) => (r.ok ? "ok" : r.reason))));
  });

  const BOT = "777:TEST-bot-token";
  const widget = (fields: Record<string, string>) => ({ ...fields, hash: telegramWidgetHash(fields, BOT) });

  test("Telegram widget login: valid creates the user once, replay refused, tampered and stale refused", async () => {
    const now = 1_800_000_000_000;
    const authDate = String(now / 1000 - 5);
    const data = widget({ id: "900001", first_name: "Tg", username: "tguser", auth_date: authDate });
    const r = await loginWithTelegramWidget(d.db, data, { botToken: BOT, maxAgeSec: 600, nowMs: now });
    assert.equal(r.ok && r.created, true);
    assert.deepEqual(await loginWithTelegramWidget(d.db, data, { botToken: BOT, maxAgeSec: 600, nowMs: now }), { ok: false, reason: "replayed" });
    const again = await loginWithTelegramWidget(d.db, widget({ id: "900001", first_name: "Tg", auth_date: String(now / 1000 - 1) }), { botToken: BOT, maxAgeSec: 600, nowMs: now });
    assert.equal(again.ok && !again.created && r.ok && again.user.id === r.user.id, true, "same Telegram id → same user");
    assert.deepEqual(await loginWithTelegramWidget(d.db, { ...data, first_name: "Evil" }, { botToken: BOT, maxAgeSec: 600, nowMs: now }), { ok: false, reason: "bad_hash" });
    assert.deepEqual(await loginWithTelegramWidget(d.db, data, { botToken: BOT, maxAgeSec: 600, nowMs: now + 700_000 }), { ok: false, reason: "stale" });
  });

  test("deep-link login: bot approves once, the starting browser exchanges once; reuse and other browsers refused", async () => {
    const now = 1_800_000_000_000;
    const st = await startDeepLinkLogin(d.db, { ttlSec: 300, nowMs: now });
    assert.ok(st.startParam.length <= 64 && /^[A-Za-z0-9_-]+$/.test(st.startParam));
    assert.deepEqual(parseStartPayload(st.startParam), { kind: "login", nonce: st.nonce });
    assert.deepEqual(await exchangeDeepLinkLogin(d.db, st.nonce, st.browserSecret!, now + 1), { ok: false, reason: "pending" });
    const c = await confirmDeepLinkLogin(d.db, st.nonce, { id: 900002, firstName: "Deep" }, now + 2);
    assert.equal(c.ok, true);
    assert.deepEqual(await confirmDeepLinkLogin(d.db, st.nonce, { id: 900003 }, now + 3), { ok: false, reason: "already_used" });
    assert.deepEqual(await exchangeDeepLinkLogin(d.db, st.nonce, "other-browser-secret", now + 4), { ok: false, reason: "not_found" });
    const ex = await exchangeDeepLinkLogin(d.db, st.nonce, st.browserSecret!, now + 5);
    assert.equal(ex.ok && c.ok && ex.user.id === c.userId && ex.user.telegramId === 900002, true);
    assert.deepEqual(await exchangeDeepLinkLogin(d.db, st.nonce, st.browserSecret!, now + 6), { ok: false, reason: "not_found" });
    // expired nonce
    const old = await startDeepLinkLogin(d.db, { ttlSec: 300, nowMs: now });
    assert.deepEqual(await confirmDeepLinkLogin(d.db, old.nonce, { id: 900002 }, now + 301_000), { ok: false, reason: "expired" });
    assert.deepEqual(await confirmDeepLinkLogin(d.db, "x".repeat(43), { id: 900002 }, now), { ok: false, reason: "not_found" });
  });

  test("Telegram linking: one Telegram id ↔ at most one user", async () => {
    const now = Date.now();
    const acct = await createAccount(d.db, { name: "web" });
    const u = await createUser(d.db, { accountId: acct.id, email: "web@example.com" });
    const l = await startTelegramLink(d.db, u.id, { ttlSec: 300, nowMs: now });
    // 900002 already belongs to the deep-link user above
    assert.deepEqual(await confirmTelegramLink(d.db, l.nonce, { id: 900002 }, now + 1), { ok: false, reason: "already_linked" });
    assert.deepEqual(await confirmTelegramLink(d.db, l.nonce, { id: 900010 }, now + 2), { ok: true, userId: u.id });
    assert.deepEqual(await confirmTelegramLink(d.db, l.nonce, { id: 900011 }, now + 3), { ok: false, reason: "already_used" });
    const l2 = await startTelegramLink(d.db, u.id, { ttlSec: 300, nowMs: now });
    assert.deepEqual(await confirmTelegramLink(d.db, l2.nonce, { id: 900012 }, now + 1), { ok: false, reason: "user_has_other_telegram" });
  });

  test("DID: unknown refused without provisioning; provisioning creates account+user+key once; replay, wrong key, tamper refused", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const did = didFromPublicKey(rawPublicKey(publicKey));
    const now = Date.now();
    const body = '{"model":"x"}';
    const mk = (ts: number, b = body) => {
      const h = signDidRequest(privateKey, did, { method: "POST", pathWithQuery: "/v1/chat/completions", body: b, timestamp: String(ts) });
      return { did: h["x-did"], timestamp: h["x-did-timestamp"], signature: h["x-did-signature"], method: "POST", pathWithQuery: "/v1/chat/completions", body: Buffer.from(body) };
    };
    assert.deepEqual(await authenticateDid(d.db, mk(now), { windowSec: 300, autoProvision: false, nowMs: now }), { ok: false, reason: "unknown_did" });
    const first = await authenticateDid(d.db, mk(now + 1), { windowSec: 300, autoProvision: true, nowMs: now });
    assert.equal(first.ok && first.provisioned, true);
    if (!first.ok) return;
    assert.equal(first.auth.accountId, first.identity.accountId);
    assert.equal(first.auth.keyId, first.identity.keyId);
    const u = await d.db.select().from(users).where(eq(users.did, did));
    assert.equal(u.length, 1);
    const second = await authenticateDid(d.db, mk(now + 2), { windowSec: 300, autoProvision: true, nowMs: now });
    assert.equal(second.ok && !second.provisioned && second.identity.keyId === first.identity.keyId, true);
    assert.deepEqual(await authenticateDid(d.db, mk(now + 2), { windowSec: 300, autoProvision: true, nowMs: now }), { ok: false, reason: "replayed" });
    assert.deepEqual(await authenticateDid(d.db, mk(now - 400_000), { windowSec: 300, autoProvision: true, nowMs: now }), { ok: false, reason: "stale_timestamp" });
    const tampered = mk(now + 3, '{"model":"y"}');
    assert.deepEqual(await authenticateDid(d.db, tampered, { windowSec: 300, autoProvision: true, nowMs: now }), { ok: false, reason: "bad_signature" });
    const other = generateKeyPairSync("ed25519");
    const wrong = { ...mk(now + 4), did: didFromPublicKey(rawPublicKey(other.publicKey)) };
    assert.deepEqual(await authenticateDid(d.db, wrong, { windowSec: 300, autoProvision: true, nowMs: now }), { ok: false, reason: "bad_signature" });
    // a revoked key stops the DID too
    await d.db.update(apiKeys).set({ status: "revoked" }).where(eq(apiKeys.id, first.identity.keyId));
    assert.deepEqual(await authenticateDid(d.db, mk(now + 5), { windowSec: 300, autoProvision: true, nowMs: now }), { ok: false, reason: "key_rejected", code: "key_revoked" });
    // concurrent first contact of a new DID converges on one identity
    const k2 = generateKeyPairSync("ed25519");
    const did2 = didFromPublicKey(rawPublicKey(k2.publicKey));
    const ids = await Promise.all([1, 2, 3].map(() => provisionDid(d.db, did2, rawPublicKey(k2.publicKey))));
    assert.equal(new Set(ids.map((i) => i.identity.keyId)).size, 1);
    assert.equal(ids.filter((i) => i.created).length, 1);
  });

  test("pruning removes expired replay guards and login requests only", async () => {
    const r = await pruneAuthState(d.db, new Date(Date.now() + 3650 * 86400_000));
    assert.ok(r.guards >= 1 && r.loginRequests >= 1, JSON.stringify(r));
  });
});
