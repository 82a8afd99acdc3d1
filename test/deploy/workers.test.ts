import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { createPostgresDb, IN_CI, postgresAvailable, TEST_PG_URL, type TestDatabase } from "../helpers/db.js";
import { ADMIN_TOKEN, spawnGateway, type GatewayProcess } from "../helpers/gateway.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";

/** Child processes of `pid` (the cluster's workers), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      // Only the gateway's workers (tsx also runs an esbuild service process).
      if (ppid === pid && readFileSync(`/proc/${d}/cmdline`, "utf8").includes("server.ts")) out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

const chat = (url: string, key: string, extra: Record<string, unknown> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "m/x", messages: [{ role: "user", content: "hi" }], max_tokens: 16, ...extra }),
  });

describe("WORKERS=2: one box, two HTTP processes on PostgreSQL + Redis", async () => {
  if (!(await postgresAvailable())) {
    if (IN_CI) throw new Error(`PostgreSQL is not reachable at ${TEST_PG_URL}`);
    console.log("# SKIPPED WORKERS=2 test: PostgreSQL not reachable");
    return;
  }
  if (!(await requireRedis("WORKERS=2"))) return;
  let db: TestDatabase;
  let mock: OpenAIUpstream;
  let gw: GatewayProcess;
  const admin = (path: string, body: unknown) =>
    fetch(gw.url + path, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => {
      assert.equal(r.status, 201, await r.clone().text());
      return r.json() as Promise<Record<string, string>>;
    });

  before(async () => {
    db = await createPostgresDb();
    mock = await startOpenAIUpstream();
    gw = await spawnGateway({
      WORKERS: "2",
      DATABASE_URL: db.url!,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `test:workers:${randomBytes(4).toString("hex")}:`,
      REDIS_COMMAND_TIMEOUT_MS: "3000",
      UPSTREAM_BASE_URL: mock.baseUrl,
      BILLING_UNPRICED_HOLD: "1.00",
      UPSTREAM_API_KEY: "sk-upstream-test",
      RATE_LIMIT_REQUESTS: "30",
      RATE_LIMIT_WINDOW: "60",
      LOG_LEVEL: "warn",
    }, { startTimeoutMs: 90_000 }); // a primary and two workers each load the sources: slow on a busy 2-core box
  });
  after(async () => {
    if (gw) assert.equal(await gw.stop(), 0, "the primary exits cleanly after its workers drained");
    await mock?.close();
    await db?.drop();
  });

  it("the primary runs two workers that share the port", async () => {
    // Both workers print the banner once they listen.
    const deadline = Date.now() + 60_000;
    while ((gw.output().match(/LLM Gateway on /g) ?? []).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal((gw.output().match(/LLM Gateway on /g) ?? []).length, 2, gw.output());
    assert.equal(childrenOf(gw.child.pid!).length, 2, "two worker processes");
    assert.equal((await fetch(gw.url + "/health")).status, 200);
  });

  it("a per-key rate limit holds across both workers", async () => {
    const acct = await admin("/admin/accounts", { name: "rl", initial_balance: "1000" });
    const { key } = await admin("/v1/key/generate", { account_id: acct.id, name: "k" });
    let ok = 0;
    let limited = 0;
    let next = 0;
    const worker = async () => {
      while (next < 80) {
        next++;
        const r = await chat(gw.url, key!);
        if (r.status === 200) ok++;
        else if (r.status === 429) limited++;
        else assert.fail(`unexpected ${r.status}: ${await r.text()}`);
        await r.body?.cancel();
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    console.log(`# WORKERS=2, 80 requests, limit 30/60s: admitted ${ok}, 429 ${limited}`);
    assert.ok(Math.abs(ok - 30) <= 1, `admitted ${ok}, want 30 ± 1`);
    assert.equal(ok + limited, 80);
  });

  it("a balance is never overspent and matches the ledger and the request log", async () => {
    // Unpriced model: each request holds (and at most charges) BILLING_UNPRICED_HOLD = 1.00.
    const acct = await admin("/admin/accounts", { name: "money", initial_balance: "5.00" });
    const keys = await Promise.all([0, 1, 2].map((i) => admin("/v1/key/generate", { account_id: acct.id, name: `k${i}` })));
    const results = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const r = await chat(gw.url, keys[i % 3]!.key!);
        await r.body?.cancel();
        return r.status;
      }),
    );
    const ok = results.filter((s) => s === 200).length;
    const refused = results.filter((s) => s === 402).length;
    assert.equal(ok + refused, 24, `only 200 or 402: ${results.join(",")}`);
    assert.ok(ok >= 5, `a balance of 5.00 admits at least five holds of 1.00 (admitted ${ok})`);
    // Settlement and log rows are written off the response path: wait until they are in.
    let rows: Record<string, unknown> = {};
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const r = await db.db.execute(sql`select
          (select balance_micros::text from accounts where id = ${acct.id}) as balance,
          (select coalesce(sum(amount_micros), 0)::text from ledger_entries where account_id = ${acct.id}) as ledger,
          (select coalesce(sum(price_micros), 0)::text from request_logs where account_id = ${acct.id} and status = 'completed') as charged,
          (select count(*)::int from request_logs where account_id = ${acct.id} and status = 'completed') as completed,
          (select count(*)::int from holds where account_id = ${acct.id} and status = 'open') as open_holds`);
      rows = (r as unknown as { rows: Array<Record<string, unknown>> }).rows[0]!;
      if (Number(rows.completed) === ok && Number(rows.open_holds) === 0) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(Number(rows.completed), ok, JSON.stringify(rows));
    assert.equal(Number(rows.open_holds), 0);
    const balance = BigInt(String(rows.balance));
    assert.ok(balance >= 0n, `never below zero: ${balance}`);
    assert.equal(balance, BigInt(String(rows.ledger)), "balance = sum of its ledger entries");
    assert.equal(balance, 5_000_000n - BigInt(String(rows.charged)), "balance = opening − what the log says was charged");
  });

  it("/metrics answers for the whole box, whichever worker takes the scrape", async () => {
    const totals: number[] = [];
    for (let i = 0; i < 4; i++) {
      const text = await (await fetch(gw.url + "/metrics")).text();
      let sum = 0;
      for (const m of text.matchAll(/^gateway_requests_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1]);
      totals.push(sum);
    }
    const r = await db.db.execute(sql`select count(*)::int as n from request_logs where status <> 'pending'`);
    const finished = Number((r as unknown as { rows: Array<{ n: number }> }).rows[0]!.n);
    assert.ok(finished > 30);
    for (const t of totals) assert.equal(t, finished, `every scrape sums both workers (${totals.join(", ")} vs ${finished} log rows)`);
  });
});
