import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createSecretBox, maskSecret, SecretBoxError } from "../../../src/routing/secret-box.js";

const K1 = randomBytes(32).toString("hex");
const K2 = randomBytes(32).toString("hex");

describe("secret box (AES-256-GCM)", () => {
  it("round-trips, with a fresh 96-bit IV each time and a versioned format", () => {
    const box = createSecretBox(K1);
    const a = box.seal("sk-or-v1-secret", "ctx");
    const b = box.seal("sk-or-v1-secret", "ctx");
    assert.notEqual(a, b);
    const parts = a.split(".");
    assert.equal(parts.length, 5);
    assert.equal(parts[0], "v1");
    assert.equal(parts[1], box.keyId);
    assert.equal(Buffer.from(parts[2]!, "base64url").length, 12);
    assert.equal(Buffer.from(parts[3]!, "base64url").length, 16);
    assert.ok(!a.includes("secret"));
    assert.equal(box.open(a, "ctx"), "sk-or-v1-secret");
    assert.equal(box.open(b, "ctx"), "sk-or-v1-secret");
  });

  it("refuses a value sealed under another key, naming both key ids", () => {
    const sealed = createSecretBox(K1).seal("x", "ctx");
    const other = createSecretBox(K2);
    assert.throws(() => other.open(sealed, "ctx"), (e: unknown) => e instanceof SecretBoxError && /another ENCRYPTION_KEY/.test(e.message) && e.message.includes(other.keyId));
  });

  it("refuses tampering and a ciphertext moved to another row (AAD)", () => {
    const box = createSecretBox(K1);
    const sealed = box.seal("sk-123456789", "upstream_account:ua_1");
    assert.throws(() => box.open(sealed, "upstream_account:ua_2"), SecretBoxError);
    const parts = sealed.split(".");
    const ct = Buffer.from(parts[4]!, "base64url");
    ct[0] = ct[0]! ^ 1;
    parts[4] = ct.toString("base64url");
    assert.throws(() => box.open(parts.join("."), "upstream_account:ua_1"), SecretBoxError);
    assert.throws(() => box.open("v2.x.y.z.w", "c"), SecretBoxError);
    assert.throws(() => box.open("plain-text-key", "c"), SecretBoxError);
  });

  it("rejects a malformed key", () => {
    assert.throws(() => createSecretBox("abc"), SecretBoxError);
  });

  it("masks keys so they can be told apart but not used", () => {
    assert.equal(maskSecret("sk-or-v1-0123456789abcdef0123"), "sk-or-v1-…0123");
    assert.equal(maskSecret("abcdefghijklmnopqrstuvwxyz"), "abc…wxyz");
    assert.equal(maskSecret("short"), "****");
  });
});
