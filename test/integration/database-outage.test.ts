import assert from "node:assert/strict";
import { test } from "node:test";
import { openDatabase } from "../../src/db/client.js";
import { isDatabaseUnavailable } from "../../src/db/availability.js";
import { IN_CI, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { postgresBinDir, startThrowawayPostgres, type ThrowawayPostgres } from "../helpers/throwaway-pg.js";

test("database-unavailable errors are recognised through drizzle's cause chain", () => {
  assert.ok(isDatabaseUnavailable(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })));
  assert.ok(isDatabaseUnavailable(new Error("Failed query: select 1", { cause: new Error("timeout exceeded when trying to connect") })));
  assert.ok(isDatabaseUnavailable(new Error("Failed query", { cause: Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }) })));
  assert.ok(isDatabaseUnavailable(new Error("Query read timeout")));
  assert.ok(!isDatabaseUnavailable(Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: "23505" })));
  assert.ok(!isDatabaseUnavailable(new TypeError("x is undefined")));
});

// Its own PostgreSQL cluster (stopped and frozen here); the shared server on 5432 is never touched.
const bin = postgresBinDir();
if (!bin && IN_CI) throw new Error("PostgreSQL server binaries are required in CI for the outage test");
if (!bin) console.log("# SKIPPED database outage suite: no PostgreSQL server binaries under /usr/lib/postgresql");

(bin ? test : test.skip)("PostgreSQL down → 503 service_unavailable with Retry-After; frozen → bounded waits; back → serves again", { timeout: 180_000 }, async (t) => {
  let pg: ThrowawayPostgres | undefined;
  let gw: TestGateway | undefined;
  try {
    pg = await startThrowawayPostgres();
    const d = await openDatabase({ databaseUrl: pg.url, dataDir: "unused", poolSize: 5, connectTimeoutMs: 1500, statementTimeoutMs: 2000, queryTimeoutMs: 2500 });
    await d.migrate();
    const database: TestDatabase = { ...d, drop: () => d.close() };
    gw = await startTestGateway({ database, env: { BILLING_SWEEP_INTERVAL_MS: "0" } });
    const warm = await gw.createAccountWithKey();
    const cold = await gw.createAccountWithKey();
    const chat = (key: string) =>
      fetch(`${gw!.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      });
    const ok = await chat(warm.key);
    assert.equal(ok.status, 200, await ok.text());

    const expect503 = async (label: string, res: Promise<Response>) => {
      const t0 = Date.now();
      const r = await res;
      const body = (await r.json()) as { error?: { code?: string; type?: string } };
      assert.equal(r.status, 503, `${label}: ${JSON.stringify(body)}`);
      assert.equal(body.error?.code, "service_unavailable", label);
      assert.ok(Number(r.headers.get("retry-after")) > 0, `${label}: Retry-After`);
      return Date.now() - t0;
    };

    await t.test("stopped", async () => {
      pg!.stop();
      await expect503("cached key (billing hold)", chat(warm.key));
      await expect503("uncached key (verification)", chat(cold.key));
      await expect503("admin read", gw!.admin("/admin/accounts"));
      pg!.start();
      let back = 0;
      for (let i = 0; i < 20 && back !== 200; i++) {
        const r = await chat(warm.key);
        back = r.status;
        await r.text();
        if (back !== 200) await new Promise((res) => setTimeout(res, 250));
      }
      assert.equal(back, 200, "serves again once PostgreSQL is back");
    });

    await t.test("frozen (SIGSTOP)", async () => {
      pg!.pause();
      try {
        // Generous bound (the timeouts are 1.5–2.5 s): the point is that it ends, not how fast.
        const ms = await Promise.all([expect503("frozen: chat", chat(warm.key)), expect503("frozen: admin", gw!.admin("/admin/accounts"))]);
        for (const m of ms) assert.ok(m < 20_000, `ended after ${m} ms`);
      } finally {
        pg!.resume();
      }
      let back = 0;
      for (let i = 0; i < 40 && back !== 200; i++) {
        const r = await chat(warm.key);
        back = r.status;
        await r.text();
        if (back !== 200) await new Promise((res) => setTimeout(res, 250));
      }
      assert.equal(back, 200, "serves again once PostgreSQL runs again");
    });
  } finally {
    pg?.resume();
    await gw?.stop().catch(() => undefined);
    await gw?.gateway.deps.database.close().catch(() => undefined);
    pg?.destroy();
  }
});
