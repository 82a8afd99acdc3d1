import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, test } from "node:test";
import { didFromPublicKey, rawPublicKey, signDidRequest } from "../../src/accounts/did-crypto.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

describeEachDb("DID-signed inference", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  before(async () => {
    db = await createDb();
    gw = await startTestGateway({ database: db, env: { DID_AUTO_PROVISION: "true" } });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("a DID-signed chat completion is served on /v1/chat/completions; a body changed after signing is refused", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const did = didFromPublicKey(rawPublicKey(publicKey));
    const body = JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "signed hello" }] });
    // First valid contact provisions an account with an empty balance: 402, not 401.
    const first = signDidRequest(privateKey, did, { method: "POST", pathWithQuery: "/v1/chat/completions", body });
    const broke = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { ...first, "content-type": "application/json" }, body });
    assert.equal(broke.status, 402);
    const usage = await fetch(`${gw.url}/api/v1/usage`, { headers: signDidRequest(privateKey, did, { method: "GET", pathWithQuery: "/api/v1/usage" }) });
    const { account_id } = (await usage.json()) as { account_id: string };
    const credit = await gw.admin(`/admin/accounts/${account_id}/adjustments`, { body: { amount: "10.00", reason: "test credit" } });
    assert.equal(credit.status, 200, await credit.clone().text());

    const headers = signDidRequest(privateKey, did, { method: "POST", pathWithQuery: "/v1/chat/completions", body });
    const ok = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
    assert.equal(ok.status, 200, await ok.clone().text());
    const json = (await ok.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(json.choices[0]!.message.content, "Hello from the mock upstream");
    assert.equal((gw.mock!.stats.lastBody as { messages: Array<{ content: string }> }).messages[0]!.content, "signed hello");

    const headers2 = signDidRequest(privateKey, did, { method: "POST", pathWithQuery: "/v1/chat/completions", body });
    const tampered = body.replace("signed hello", "tampered");
    const bad = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { ...headers2, "content-type": "application/json" }, body: tampered });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "invalid_signature");
  });
});
