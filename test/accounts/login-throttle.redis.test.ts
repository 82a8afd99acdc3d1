import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { Agent, fetch as undiciFetch } from "undici";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";

if (await requireRedis("login throttle shared through redis")) {
  describeEachDb("login throttle: shared by every process through redis, slows the guesser, not the owner", (_kind, createDb) => {
    let db: TestDatabase;
    let a: TestGateway;
    let b: TestGateway;
    // Another client address on this box: the whole 127/8 is local.
    const elsewhere = new Agent({ localAddress: "127.0.0.2" });

    before(async () => {
      db = await createDb();
      const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: `lt-${randomBytes(4).toString("hex")}:`, LOGIN_MAX_FAILURES_PER_ACCOUNT: "3", LOGIN_LOCKOUT_SEC: "60" };
      a = await startTestGateway({ database: db, env });
      b = await startTestGateway({ database: db, env });
      for (const gw of [a, b]) await waitRedis(gw);
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await elsewhere.close();
      await db?.drop();
    });

    async function waitRedis(gw: TestGateway) {
      for (let i = 0; i < 100 && gw.gateway.deps.rateLimit.health().redis !== "up"; i++) await new Promise((r) => setTimeout(r, 50));
    }

    const login = (gw: TestGateway, email: string, password: string, dispatcher?: Agent) =>
      undiciFetch(`${gw.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }), ...(dispatcher ? { dispatcher } : {}) });

    test("failures on two processes add up; the owner from another address still logs in", async () => {
      const email = `owner-${randomBytes(3).toString("hex")}@example.com`;
      const reg = await fetch(`${a.url}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: "owner-password-1" }) });
      assert.equal(reg.status, 201, await reg.text());
      // Alternate processes: per-process counting would allow 3 on each.
      const statuses: number[] = [];
      for (const gw of [a, b, a]) {
        const r = await login(gw, email, "guess-" + statuses.length);
        statuses.push(r.status);
        await r.text();
      }
      assert.deepEqual(statuses, [401, 401, 429], "the third failure, on either process, starts the slow-down");
      for (const gw of [a, b]) {
        const r = await login(gw, email, "owner-password-1");
        assert.equal(r.status, 429, "the guessing address waits, even with the right password");
        assert.ok(Number(r.headers.get("retry-after")) >= 1);
        await r.text();
      }
      for (const gw of [b, a]) {
        const r = await login(gw, email, "owner-password-1", elsewhere);
        assert.equal(r.status, 200, `the owner from another address is not locked out: ${await r.clone().text()}`);
        await r.text();
      }
    });
  });
}
