import assert from "node:assert/strict";
import { test } from "node:test";
import { and, eq, inArray, sql } from "drizzle-orm";
import { openDatabase } from "../../src/db/client.js";
import { accounts, ledgerEntries } from "../../src/db/schema/index.js";
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

// With balance leases (the default) an account whose process holds a live lease may be answered while the
// database is briefly down: the contract is no overspend, nothing lost (every answer's charge is in the
// ledger once the database is back, once), and a clear 503 for whatever needs the database (a key not yet
// verified, hence no lease; the admin API).
(bin ? test : test.skip)("PostgreSQL down → 503 service_unavailable with Retry-After where the database is needed, leased answers charged once it is back; frozen → bounded waits; back → serves again", { timeout: 180_000 }, async (t) => {
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
    // Answered while the database was unreachable: on the warm account's lease (or 503 where it was needed).
    const answeredDown: string[] = [];
    const leasedOr503 = async (label: string, res: Promise<Response>) => {
      const t0 = Date.now();
      const r = await res;
      const body = (await r.json()) as { error?: { code?: string }; usage?: { cost?: number } };
      if (r.status === 200) {
        assert.ok((body.usage?.cost ?? 0) > 0, `${label}: a leased answer carries its cost`);
        answeredDown.push(r.headers.get("x-request-id")!);
      } else {
        assert.equal(r.status, 503, `${label}: ${JSON.stringify(body)}`);
        assert.equal(body.error?.code, "service_unavailable", label);
      }
      return Date.now() - t0;
    };

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
      await leasedOr503("cached key on a live lease", chat(warm.key));
      assert.equal(answeredDown.length, 1, "a live lease answers while the database is down");
      await expect503("uncached key (verification, no lease)", chat(cold.key));
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
        const ms = await Promise.all([leasedOr503("frozen: chat", chat(warm.key)), expect503("frozen: uncached key", chat(cold.key)), expect503("frozen: admin", gw!.admin("/admin/accounts"))]);
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

    await t.test("back: what was answered during the outage is charged, once; no overspend, no drift", async () => {
      await gw!.gateway.deps.billing.flush();
      const rows = await d.db.select({ ref: ledgerEntries.ref }).from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), inArray(ledgerEntries.ref, answeredDown.length ? answeredDown : ["none"])));
      assert.equal(rows.length, answeredDown.length, "one usage ledger row per answer given while the database was down");
      const a = (await d.db.select().from(accounts).where(eq(accounts.id, warm.accountId)))[0]!;
      assert.ok(a.balanceMicros - a.reservedMicros >= 0n, "never below zero");
      const sum = (await d.db.execute(sql`select coalesce(sum(amount_micros), 0)::text as s from ledger_entries where account_id = ${warm.accountId}`)) as unknown as { rows: Array<{ s: string }> };
      assert.equal(BigInt(sum.rows[0]!.s), a.balanceMicros, "Σ ledger = balance");
      console.log(`# database outage: ${answeredDown.length} answered on a lease while PostgreSQL was down, all charged after`);
    });
  } finally {
    pg?.resume();
    await gw?.stop().catch(() => undefined);
    await gw?.gateway.deps.database.close().catch(() => undefined);
    pg?.destroy();
  }
});
