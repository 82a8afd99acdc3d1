import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { main } from "../../src/main/cli.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from "../helpers/gateway.js";

/** The CLI against a running gateway's admin API (--url + --admin-token): no database access at all. */
describeEachDb("CLI against a remote gateway", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  const run = async (args: string[]) => {
    let out = "";
    let err = "";
    const code = await main([...args, "--url", gw.url, "--admin-token", ADMIN_TOKEN, "--json"], {
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
      // A database setting that can't work proves the remote path never opens one.
      env: { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" },
    });
    return { code, err, json: out ? JSON.parse(out) : null };
  };

  before(async () => {
    db = await createDb();
    gw = await startTestGateway({ database: db, env: { KEY_CACHE_TTL_MS: "0", TELEGRAM_MODE: "off" } });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("create-account, create-key, list-keys, set-limit, credit, stats, revoke-key through the admin API", async () => {
    const a = await run(["create-account", "--name", "Remote Co", "--balance", "20", "--email", "ops@remote.co", "--password", "remote-pass-1", "--role", "admin"]);
    assert.equal(a.code, 0, a.err);
    const accountId = a.json.account.id;
    assert.equal(a.json.account.balance, "20.00");
    assert.equal(a.json.user.role, "admin");
    const k = await run(["create-key", "--account", accountId, "--limit", "1000", "--name", "remote"]);
    assert.equal(k.code, 0, k.err);
    assert.match(k.json.key, /^sk-gw-/);
    const models = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${k.json.key}` } });
    assert.equal(models.status, 200, "the key made remotely works");
    const l = await run(["list-keys", "--account", accountId, "--stats"]);
    assert.equal(l.json.data.length, 1);
    assert.ok(!JSON.stringify(l.json).includes(k.json.key), "masked");
    const s = await run(["set-limit", "--key", k.json.key, "--daily-limit", "100"]);
    assert.equal(s.code, 0, s.err);
    assert.deepEqual(s.json.limits, { total_tokens: 1000, daily_tokens: 100 });
    const c1 = await run(["credit", "--account", accountId, "--amount", "5.5", "--reason", "goodwill", "--ref", "r1"]);
    assert.equal(c1.code, 0, c1.err);
    assert.equal(c1.json.balance, "25.50");
    const c2 = await run(["credit", "--account", accountId, "--amount", "5.5", "--reason", "goodwill", "--ref", "r1"]);
    assert.equal(c2.json.applied, false, "same --ref: nothing changes");
    assert.equal(c2.json.balance, "25.50");
    const st = await run(["stats"]);
    assert.equal(st.code, 0);
    assert.ok(st.json.accounts.total >= 1);
    const r = await run(["revoke-key", "--key", k.json.key, "--force"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json.status, "revoked");
    assert.equal((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${k.json.key}` } })).status, 403);
    const bad = await main(["stats", "--url", gw.url, "--admin-token", "wrong-token-wrong-token"], { stdout: () => undefined, stderr: () => undefined, env: {} });
    assert.equal(bad, 1);
    assert.equal((await run(["backup", "--path", "/tmp/x.json"])).code, 2, "backup needs the database");
  });
});
