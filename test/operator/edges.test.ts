import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import { apiKeys, requestLogs } from "../../src/db/schema/index.js";
import { ALLOWED_KEYS_ACCOUNT_ID, ensureAllowedKeys } from "../../src/keys/allowed-keys.js";
import { main } from "../../src/main/cli.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const ALLOWED = "sk-gw-AllowedBootstrapKey0123456789abcdefXYZ";

describeEachDb("edges the first API design promised", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;

  before(async () => {
    db = await createDb();
    gw = await startTestGateway({ database: db, env: { KEY_CACHE_TTL_MS: "0", TELEGRAM_MODE: "off", ALLOWED_API_KEYS: ALLOWED } });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  const chat = (key: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
  const rowsOf = async (accountId: string) => {
    await gw.gateway.deps.logs.flush();
    return db.db.select().from(requestLogs).where(eq(requestLogs.accountId, accountId));
  };

  test("/v1/health and /api/v1/health answer like /health", async () => {
    const base = (await (await fetch(`${gw.url}/health`)).json()) as { status: string };
    for (const p of ["/v1/health", "/api/v1/health"]) {
      const r = await fetch(gw.url + p);
      assert.equal(r.status, 200, p);
      const body = (await r.json()) as { status: string; components: unknown };
      assert.equal(body.status, base.status);
      assert.ok(body.components, `${p} carries the components`);
    }
  });

  test("/usage carries the key's rate-limit section", async () => {
    const { key } = await gw.createAccountWithKey({ balance: "10" });
    assert.equal((await chat(key)).status, 200);
    const u = (await (await fetch(`${gw.url}/usage`, { headers: { authorization: `Bearer ${key}` } })).json()) as any;
    assert.ok(u.rate_limit, "rate_limit section present");
    assert.equal(typeof u.rate_limit.window_seconds, "number");
    assert.ok(u.rate_limit.requests === null || u.rate_limit.requests.current >= 1);
    assert.ok(u.today, "the usage figures are still there");
  });

  test("refusals by key, balance and limits are logged against the account, never billed; an unknown key writes no row", async () => {
    const broke = await gw.createAccountWithKey({ balance: "0" });
    const r402 = await chat(broke.key);
    assert.equal(r402.status, 402, "balance refusal keeps OpenAI's 402");
    const rows402 = await rowsOf(broke.accountId);
    assert.equal(rows402.length, 1);
    assert.equal(rows402[0]!.status, "failed");
    assert.equal(rows402[0]!.errorCode, "insufficient_quota");
    assert.equal(rows402[0]!.priceMicros, 0n);
    assert.equal(rows402[0]!.id, r402.headers.get("x-request-id"));

    const capped = await gw.createAccountWithKey({ balance: "10", key: { limits: { total_tokens: 1 } } });
    const r403 = await chat(capped.key);
    assert.equal(r403.status, 403);
    assert.equal((await rowsOf(capped.accountId)).map((r) => r.errorCode).join(), "quota_exceeded");

    const revoked = await gw.createAccountWithKey({ balance: "10" });
    assert.equal((await gw.admin(`/admin/keys/${revoked.keyId}`, { method: "DELETE" })).status, 200);
    const r403b = await chat(revoked.key);
    assert.equal(r403b.status, 403);
    const rowsRevoked = await rowsOf(revoked.accountId);
    assert.deepEqual(rowsRevoked.map((r) => [r.errorCode, r.apiKeyId, r.priceMicros]), [["key_revoked", revoked.keyId, 0n]]);

    const before = (await db.db.select().from(requestLogs)).length;
    assert.equal((await chat("sk-gw-" + "x".repeat(40))).status, 401, "a bad key keeps OpenAI's 401");
    await gw.gateway.deps.logs.flush();
    assert.equal((await db.db.select().from(requestLogs)).length, before, "no account to log an unknown key against");
  });

  test("ALLOWED_API_KEYS: a listed key works as issued; dropped from the list it is revoked, put back it works again", async () => {
    const models = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${ALLOWED}` } });
    assert.equal(models.status, 200);
    const again = await ensureAllowedKeys(db.db, [ALLOWED]);
    assert.deepEqual(again, { added: 0, revoked: 0 }, "idempotent at every start");
    assert.deepEqual(await ensureAllowedKeys(db.db, []), { added: 0, revoked: 1 });
    const [row] = await db.db.select().from(apiKeys).where(and(eq(apiKeys.accountId, ALLOWED_KEYS_ACCOUNT_ID)));
    assert.equal(row!.status, "revoked");
    assert.ok(!JSON.stringify(row).includes(ALLOWED), "stored as a hash");
    await ensureAllowedKeys(db.db, [ALLOWED]);
    assert.equal((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${ALLOWED}` } })).status, 200);
  });

  test("CLI: create-key --limit N --name N without --account opens the account; list-keys --stats shows limits and usage", async () => {
    const env = { DATABASE_URL: db.url ?? "", DATA_DIR: "/nonexistent" };
    const run = async (args: string[]) => {
      let out = "";
      let err = "";
      const code = await main([...args, "--url", gw.url, "--admin-token", gw.adminToken], { stdout: (s) => (out += s), stderr: (s) => (err += s), env });
      return { code, out, err };
    };
    const k = await run(["create-key", "--limit", "5000", "--name", "Solo Dev", "--json"]);
    assert.equal(k.code, 0, k.err);
    const made = JSON.parse(k.out);
    assert.equal(made.account_created, true);
    assert.match(made.account_id, /^acct_/);
    assert.deepEqual(made.limits, { total_tokens: 5000 });
    await gw.admin(`/admin/accounts/${made.account_id}/adjustments`, { body: { amount: "5", reason: "test" } });
    assert.equal((await chat(made.key)).status, 200);
    await gw.gateway.deps.logs.flush();
    const l = await run(["list-keys", "--account", made.account_id, "--stats"]);
    assert.equal(l.code, 0, l.err);
    assert.match(l.out, /limit: 5,000 tokens/);
    assert.match(l.out, /usage: 1 requests, [1-9][\d,]* tokens/);
    assert.match(l.out, /token limits 5,000/);
    const s = await run(["set-limit", "--key", made.key, "--weekly-limit", "700", "--json"]);
    assert.deepEqual(JSON.parse(s.out).limits, { total_tokens: 5000, weekly_tokens: 700 });
    const rk = await run(["revoke-key", "--key", made.key, "--force"]);
    assert.equal(rk.code, 0, rk.err);
    assert.match(rk.out, /revoked/);
  });
});
