import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { base58Decode, base58Encode } from "../../../src/accounts/base58.js";
import {
  checkDidSignature,
  decodeSignature,
  didFromPublicKey,
  publicKeyFromDid,
  rawPublicKey,
  signDidRequest,
} from "../../../src/accounts/did-crypto.js";
import { signJwt, verifyJwt, type AccessClaims } from "../../../src/accounts/jwt.js";
import { LoginThrottle } from "../../../src/accounts/login-throttle.js";
import { hashPassword, needsRehash, verifyPassword } from "../../../src/accounts/password.js";
import { telegramWidgetHash, verifyTelegramWidget } from "../../../src/accounts/telegram-widget.js";

const FAST = { N: 1 << 10, r: 8, p: 1 };

describe("password hashing (scrypt)", () => {
  test("hash verifies, wrong password and tampered hash fail, salts differ", async () => {
    const h1 = await hashPassword("correct horse battery", FAST);
    const h2 = await hashPassword("correct horse battery", FAST);
    assert.match(h1, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}$/);
    assert.notEqual(h1, h2, "per-user salt");
    assert.equal(await verifyPassword("correct horse battery", h1), true);
    assert.equal(await verifyPassword("correct horse batterz", h1), false);
    const parts = h1.split("$");
    const flipped = parts[5]!.startsWith("A") ? "B" + parts[5]!.slice(1) : "A" + parts[5]!.slice(1);
    assert.equal(await verifyPassword("correct horse battery", [...parts.slice(0, 5), flipped].join("$")), false);
    assert.equal(await verifyPassword("x", null), false);
    assert.equal(await verifyPassword("x", "bcrypt$whatever"), false);
    // An absurd cost in a tampered row is refused, not executed.
    assert.equal(await verifyPassword("x", h1.replace("$1024$", "$1073741824$")), false);
  });
  test("default parameters: the stored form records them and weaker hashes need a rehash", async () => {
    const h = await hashPassword("pw-12345678");
    assert.ok(h.startsWith("scrypt$32768$8$1$"));
    assert.equal(await verifyPassword("pw-12345678", h), true);
    assert.equal(needsRehash(h), false);
    assert.equal(needsRehash(await hashPassword("pw", FAST)), true);
  });
});

describe("JWT (HS256)", () => {
  const claims: AccessClaims = { sub: "usr_1", sid: "ses_1", acc: "acct_1", role: "client", typ: "access", iat: 1000, exp: 1900 };
  const secret = "s".repeat(40);
  test("round trip, expiry, wrong secret, tampered payload, alg none", () => {
    const t = signJwt(claims, secret);
    assert.deepEqual(verifyJwt(t, secret, 1899), { ok: true, claims });
    assert.deepEqual(verifyJwt(t, secret, 1900), { ok: false, reason: "expired" });
    assert.deepEqual(verifyJwt(t, "x".repeat(40), 1000), { ok: false, reason: "bad_signature" });
    const [h, p, s] = t.split(".");
    const evil = Buffer.from(JSON.stringify({ ...claims, role: "admin" })).toString("base64url");
    assert.deepEqual(verifyJwt(`${h}.${evil}.${s}`, secret, 1000), { ok: false, reason: "bad_signature" });
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    assert.deepEqual(verifyJwt(`${none}.${p}.`, secret, 1000), { ok: false, reason: "malformed" });
    assert.deepEqual(verifyJwt("garbage", secret, 1000), { ok: false, reason: "malformed" });
  });
});

describe("Telegram Login Widget", () => {
  const bot = "123456:ABC-test-token";
  const now = 1_750_000_000;
  function signed(fields: Record<string, string>) {
    return { ...fields, hash: telegramWidgetHash(fields, bot) };
  }
  test("valid data verifies (numbers or strings), with the documented data-check-string", () => {
    const d = signed({ id: "42", first_name: "Ann", username: "ann", auth_date: String(now - 10) });
    const r = verifyTelegramWidget(d, bot, now, 600);
    assert.equal(r.ok, true);
    assert.equal(r.ok && r.user.id, 42);
    // JS callback form: id/auth_date as numbers
    assert.equal(verifyTelegramWidget({ ...d, id: 42, auth_date: now - 10 }, bot, now, 600).ok, true);
  });
  test("tampered field, wrong bot token, extra param, stale and future auth_date are refused", () => {
    const d = signed({ id: "42", first_name: "Ann", auth_date: String(now - 10) });
    assert.deepEqual(verifyTelegramWidget({ ...d, id: "43" }, bot, now, 600), { ok: false, reason: "bad_hash" });
    assert.deepEqual(verifyTelegramWidget(d, "123456:other", now, 600), { ok: false, reason: "bad_hash" });
    assert.deepEqual(verifyTelegramWidget({ ...d, redirect: "/x" }, bot, now, 600), { ok: false, reason: "bad_hash" });
    const old = signed({ id: "42", auth_date: String(now - 601) });
    assert.deepEqual(verifyTelegramWidget(old, bot, now, 600), { ok: false, reason: "stale" });
    const future = signed({ id: "42", auth_date: String(now + 3600) });
    assert.deepEqual(verifyTelegramWidget(future, bot, now, 600), { ok: false, reason: "from_future" });
    assert.deepEqual(verifyTelegramWidget({ id: "42", auth_date: String(now) }, bot, now, 600), { ok: false, reason: "missing_fields" });
  });
});

describe("DID (did:key Ed25519) signatures", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const did = didFromPublicKey(rawPublicKey(publicKey));
  const now = 1_750_000_000_000;
  const body = JSON.stringify({ model: "m", messages: [] });
  const req = (h: Record<string, string>, over: Partial<{ method: string; path: string; body: string }> = {}) => ({
    did: h["x-did"],
    timestamp: h["x-did-timestamp"],
    signature: h["x-did-signature"],
    method: over.method ?? "POST",
    pathWithQuery: over.path ?? "/v1/chat/completions?x=1",
    body: Buffer.from(over.body ?? body),
  });
  test("base58 and did:key round trip", () => {
    for (const n of [0, 1, 5, 32, 34]) {
      const b = Uint8Array.from([0, 0, ...randomBytes(n)]);
      assert.deepEqual(base58Decode(base58Encode(b)), b);
    }
    assert.equal(base58Decode("0OIl"), null);
    assert.ok(did.startsWith("did:key:z6Mk"), did);
    assert.deepEqual(publicKeyFromDid(did), rawPublicKey(publicKey));
    assert.equal(publicKeyFromDid("did:example:123"), null);
    // a secp256k1 did:key (multicodec 0xe7) is not accepted as Ed25519
    assert.equal(publicKeyFromDid("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"), null);
  });
  test("valid signature (seconds and ms timestamps, base64 and base64url)", () => {
    const h = signDidRequest(privateKey, did, { method: "POST", pathWithQuery: "/v1/chat/completions?x=1", body, timestamp: String(now) });
    const ok = checkDidSignature(req(h), now + 1000, 300);
    assert.equal(ok.ok, true);
    const hs = signDidRequest(privateKey, did, { method: "POST", pathWithQuery: "/v1/chat/completions?x=1", body, timestamp: String(now / 1000) });
    assert.equal(checkDidSignature(req(hs), now, 300).ok, true);
    const b64 = Buffer.from(h["x-did-signature"], "base64url").toString("base64");
    const alt = checkDidSignature(req({ ...h, "x-did-signature": b64 }), now, 300);
    assert.equal(alt.ok, true);
    // both spellings map to one replay key
    assert.equal(ok.ok && alt.ok && ok.messageHash === alt.messageHash, true);
  });
  test("wrong key, stale timestamp, tampered body/path/method, garbage headers are refused", () => {
    const other = generateKeyPairSync("ed25519");
    const otherDid = didFromPublicKey(rawPublicKey(other.publicKey));
    const h = signDidRequest(privateKey, did, { method: "POST", pathWithQuery: "/v1/chat/completions?x=1", body, timestamp: String(now) });
    assert.deepEqual(checkDidSignature(req({ ...h, "x-did": otherDid }), now, 300), { ok: false, reason: "bad_signature" });
    assert.deepEqual(checkDidSignature(req(h), now + 301_000, 300), { ok: false, reason: "stale_timestamp" });
    assert.deepEqual(checkDidSignature(req(h), now - 301_000, 300), { ok: false, reason: "stale_timestamp" });
    assert.deepEqual(checkDidSignature(req(h, { body: body.replace('"m"', '"n"') }), now, 300), { ok: false, reason: "bad_signature" });
    assert.deepEqual(checkDidSignature(req(h, { path: "/v1/chat/completions?x=2" }), now, 300), { ok: false, reason: "bad_signature" });
    assert.deepEqual(checkDidSignature(req(h, { method: "PUT" }), now, 300), { ok: false, reason: "bad_signature" });
    assert.deepEqual(checkDidSignature(req({ ...h, "x-did-timestamp": "12abc" }), now, 300), { ok: false, reason: "bad_timestamp" });
    assert.deepEqual(checkDidSignature(req({ ...h, "x-did": "did:web:example.com" }), now, 300), { ok: false, reason: "bad_did" });
    assert.deepEqual(checkDidSignature(req({ "x-did": did }), now, 300), { ok: false, reason: "missing_headers" });
    assert.equal(decodeSignature("AAAA"), null);
  });
});

describe("login throttle", () => {
  test("a slow-down per account and address, never a hard lock: the owner's own address is not slowed by guesses from elsewhere", async () => {
    let t = 1_000_000;
    const th = new LoginThrottle({ clock: { now: () => t }, maxFailuresPerAccount: 3, maxFailuresPerIp: 5, windowSec: 60, lockoutSec: 120, accountMaxDelaySec: 30 });
    assert.equal((await th.check("a@x", "1.1.1.1")).allowed, true);
    await th.fail("a@x", "1.1.1.1");
    await th.fail("a@x", "1.1.1.1");
    assert.equal((await th.check("a@x", "1.1.1.1")).allowed, true);
    // third failure: the next attempt from there waits 1 s, then 2, 4, … (capped at lockoutSec)
    assert.deepEqual(await th.fail("a@x", "1.1.1.1"), { allowed: false, retryAfterSec: 1, subject: "source" });
    assert.equal((await th.check("a@x", "9.9.9.9")).allowed, true, "the owner elsewhere is not slowed");
    t += 1_000;
    assert.equal((await th.check("a@x", "1.1.1.1")).allowed, true);
    assert.deepEqual(await th.fail("a@x", "1.1.1.1"), { allowed: false, retryAfterSec: 2, subject: "source" });
    for (let i = 0; i < 20; i++) {
      t += 200_000;
      await th.fail("b@x", "3.3.3.3");
    }
    // long gaps: each failure is more than the window after the last, so the count starts over
    assert.equal((await th.check("b@x", "3.3.3.3")).allowed, true);
    for (let i = 0; i < 12; i++) await th.fail("c@x", "4.4.4.4");
    const v = await th.check("c@x", "4.4.4.4");
    assert.ok(!v.allowed && v.retryAfterSec === 120, "capped at lockoutSec");
    // success clears the source and account counters
    await th.fail("d@x", null);
    await th.fail("d@x", null);
    await th.succeed("d@x", null);
    await th.fail("d@x", null);
    await th.fail("d@x", null);
    assert.equal((await th.check("d@x", null)).allowed, true);
    // one address spraying many accounts is slowed on every account
    for (let i = 0; i < 5; i++) await th.fail(`u${i}@x`, "6.6.6.6");
    assert.equal((await th.check("fresh@x", "6.6.6.6")).allowed, false);
    assert.equal((await th.check("fresh@x", "7.7.7.7")).allowed, true);
    // many addresses on one account: a bounded delay (accountMaxDelaySec) for everyone, never a lock
    for (let i = 0; i < 40; i++) await th.fail("e@x", `10.0.0.${i}`);
    const all = await th.check("e@x", "8.8.8.8");
    assert.ok(!all.allowed && all.subject === "account" && all.retryAfterSec <= 30, JSON.stringify(all));
    t += 30_000;
    assert.equal((await th.check("e@x", "8.8.8.8")).allowed, true, "the owner gets through after at most accountMaxDelaySec");
  });
});
