import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { createPgliteDb, createPostgresDb, IN_CI, postgresAvailable, TEST_PG_URL, type TestDatabase } from "../helpers/db.js";
import { spawnGateway, startTestGateway, ADMIN_TOKEN, type GatewayProcess, type TestGateway } from "../helpers/gateway.js";
import { requireRedis, TEST_REDIS_URL } from "../helpers/redis.js";
import type { ChildProcess } from "node:child_process";
import { freePort, startRedis, stop, testPrefix, until } from "./helpers.js";

function chat(url: string, key: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...extra }),
  });
}

interface ErrorBody {
  error: { code: string; type: string; message: string; limit_source?: string; limit?: number };
}

if (await requireRedis("rate limits through the gateway")) {
  describe("rate limits through the real gateway (in process, redis)", () => {
    let db: TestDatabase;
    let gw: TestGateway;
    const prefix = testPrefix();

    before(async () => {
      db = await createPgliteDb();
      gw = await startTestGateway({
        database: db,
        env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_REQUESTS: "30", RATE_LIMIT_WINDOW: "5" },
      });
      // The connection is made in the background; wait for it so every request counts in Redis.
      for (let i = 0; i < 100 && gw.gateway.deps.redis?.status !== "ready"; i++) await new Promise((r) => setTimeout(r, 20));
    });
    after(async () => {
      await gw.stop();
      await db.drop();
    });

    it("the 31st request in the window gets 429 with Retry-After, and passes after it", async () => {
      const { key } = await gw.createAccountWithKey();
      const first = await Promise.all(Array.from({ length: 30 }, () => chat(gw.url, key)));
      assert.deepEqual(first.map((r) => r.status), Array(30).fill(200));
      const remaining = first.map((r) => Number(r.headers.get("x-ratelimit-remaining-requests"))).sort((a, b) => a - b);
      assert.deepEqual(remaining, Array.from({ length: 30 }, (_, i) => i));
      for (const r of first) {
        assert.equal(r.headers.get("x-ratelimit-limit-requests"), "30");
        assert.equal(r.headers.get("x-ratelimit-reset-requests"), "5s");
        assert.equal(r.headers.get("x-ratelimit-limit-tokens"), "1000000");
        assert.ok(r.headers.get("x-ratelimit-remaining-tokens"));
        assert.ok(r.headers.get("x-ratelimit-reset-tokens"));
        await r.body?.cancel();
      }
      const t31 = Date.now();
      const r31 = await chat(gw.url, key);
      assert.equal(r31.status, 429);
      const retry = Number(r31.headers.get("retry-after"));
      assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 5, `Retry-After ${r31.headers.get("retry-after")}`);
      assert.equal(r31.headers.get("x-ratelimit-remaining-requests"), "0");
      const body = (await r31.json()) as ErrorBody;
      assert.equal(body.error.code, "rate_limit_exceeded");
      assert.equal(body.error.type, "rate_limit_error");
      assert.equal(body.error.limit_source, "key_rpm");
      assert.ok(r31.headers.get("x-request-id"));

      const st = await fetch(`${gw.url}/rate-limit`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(st.status, 200);
      const s = (await st.json()) as Record<string, unknown>;
      assert.equal(s.limit, 30);
      assert.equal(s.window_seconds, 5);
      assert.equal(s.current_count, 30);
      assert.equal(s.remaining, 0);
      assert.equal(s.storage, "redis");
      assert.equal(s.redis, "up");
      assert.ok(typeof s.api_key === "string" && !s.api_key.includes(key.slice(12)), "key is masked");

      await new Promise((r) => setTimeout(r, Math.max(0, t31 + retry * 1000 - Date.now()) + 50));
      const later = await chat(gw.url, key);
      assert.equal(later.status, 200);
      await later.body?.cancel();
    });

    it("a streamed request holds a concurrency slot until it ends", async () => {
      const { key } = await gw.createAccountWithKey({ key: { rate_limits: { rpm: 0, concurrency: 1 } } });
      const stream = await chat(gw.url, key, { stream: true, mock: { chunks: 20, interval_ms: 40 } });
      assert.equal(stream.status, 200);
      const reader = stream.body!.getReader();
      assert.ok(!(await reader.read()).done);
      const refused = await chat(gw.url, key);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.equal(((await refused.json()) as ErrorBody).error.limit_source, "key_concurrency");
      const during = (await (await fetch(`${gw.url}/rate-limit`, { headers: { authorization: `Bearer ${key}` } })).json()) as { concurrency: { current: number } };
      assert.equal(during.concurrency.current, 1);
      while (!(await reader.read()).done);
      let ok = 0;
      for (let i = 0; i < 50 && ok === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const r = await chat(gw.url, key);
        if (r.status === 200) ok++;
        await r.body?.cancel();
      }
      assert.equal(ok, 1, "the slot was released when the stream ended");
    });

    it("tokens per window count the real usage of each response", async () => {
      const { key } = await gw.createAccountWithKey({ key: { rate_limits: { rpm: 0, tpm: 4000 } } });
      const usage = { prompt_tokens: 1000, completion_tokens: 500 };
      for (let i = 0; i < 2; i++) {
        const r = await chat(gw.url, key, { mock: { usage } });
        assert.equal(r.status, 200);
        await r.json();
      }
      await new Promise((r) => setTimeout(r, 50));
      const s = (await (await fetch(`${gw.url}/rate-limit`, { headers: { authorization: `Bearer ${key}` } })).json()) as { tokens: { limit: number; current: number } };
      assert.deepEqual(s.tokens, { limit: 4000, current: 3000, remaining: 1000 });
      // A prompt estimate that no longer fits is refused before any upstream call.
      const big = await chat(gw.url, key, { max_tokens: 2000 });
      assert.equal(big.status, 429);
      assert.equal(((await big.json()) as ErrorBody).error.limit_source, "key_tpm");
    });

    it("/health shows where limits are counted", async () => {
      const h = (await (await fetch(`${gw.url}/health`)).json()) as { components: Record<string, Record<string, unknown>> };
      assert.deepEqual(h.components.rate_limits, { status: "ok", storage: "redis", redis: "up", memory_fallback_decisions: 0 });
      assert.equal(h.components.redis?.status, "ok");
      assert.equal(h.components.redis?.state, "up");
    });
  });

  describe("rate limits across two gateway processes on one redis", async () => {
    if (!(await postgresAvailable())) {
      if (IN_CI) throw new Error(`PostgreSQL is not reachable at ${TEST_PG_URL}`);
      console.log("# SKIPPED two-process rate limit test: PostgreSQL not reachable");
      return;
    }
    let db: TestDatabase;
    let mock: OpenAIUpstream;
    const procs: GatewayProcess[] = [];

    before(async () => {
      db = await createPostgresDb();
      mock = await startOpenAIUpstream();
      const env = {
        DATABASE_URL: db.url!,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: testPrefix(),
        UPSTREAM_BASE_URL: mock.baseUrl,
        BILLING_UNPRICED_HOLD: "1.00",
        UPSTREAM_API_KEY: "sk-upstream-test",
        RATE_LIMIT_REQUESTS: "30",
        RATE_LIMIT_WINDOW: "60",
        // This test is about sharing, not faults: on a loaded 2-core box a 250 ms timeout may trip
        // and send a process to its memory fallback (which the fault tests cover).
        REDIS_COMMAND_TIMEOUT_MS: "3000",
        LOG_LEVEL: "warn",
      };
      procs.push(...(await Promise.all([spawnGateway(env), spawnGateway(env)])));
    });
    after(async () => {
      for (const p of procs) await p.stop();
      await mock?.close();
      await db?.drop();
    });

    it("the combined count of both processes is held to one limit", async () => {
      const [a, b] = procs as [GatewayProcess, GatewayProcess];
      const admin = (path: string, body: unknown) =>
        fetch(a.url + path, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then(
          (r) => r.json() as Promise<Record<string, string>>,
        );
      const acct = await admin("/admin/accounts", { name: "two procs", initial_balance: "100" });
      const { key } = await admin("/v1/key/generate", { account_id: acct.id, name: "k" });
      for (const p of procs) {
        const h = (await (await fetch(`${p.url}/health`)).json()) as { components: Record<string, Record<string, unknown>> };
        assert.equal(h.components.rate_limits?.storage, "redis");
      }
      const counts = { a: { ok: 0, limited: 0 }, b: { ok: 0, limited: 0 } };
      let next = 0;
      const worker = async () => {
        while (next < 80) {
          const i = next++;
          const which = i % 2 ? "a" : "b";
          const r = await chat(which === "a" ? a.url : b.url, key!);
          if (r.status === 200) counts[which].ok++;
          else if (r.status === 429) counts[which].limited++;
          else assert.fail(`unexpected ${r.status}: ${await r.text()}`);
          await r.body?.cancel();
        }
      };
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 8 }, worker));
      const elapsed = Date.now() - t0;
      let fallback = 0;
      for (const p of procs) {
        const h = (await (await fetch(`${p.url}/health`)).json()) as { components: Record<string, Record<string, unknown>> };
        fallback += Number(h.components.rate_limits?.memory_fallback_decisions);
      }
      const ok = counts.a.ok + counts.b.ok;
      console.log(`# two processes, 80 requests, limit 30/60s: admitted ${ok} (A ${counts.a.ok}, B ${counts.b.ok}), 429 ${counts.a.limited + counts.b.limited}, in ${elapsed} ms, memory fallback decisions ${fallback}`);
      assert.equal(fallback, 0, "every decision was taken in redis");
      assert.ok(Math.abs(ok - 30) <= 1, `admitted ${ok}, want 30 ± 1`);
      assert.ok(counts.a.ok > 0 && counts.b.ok > 0, "both processes served requests");
    });
  });

  describe("a gateway whose redis dies and comes back (own redis-server child)", () => {
    let db: TestDatabase;
    let gw: TestGateway;
    let redisChild: ChildProcess;
    let port: number;

    before(async () => {
      port = await freePort();
      redisChild = await startRedis(port);
      db = await createPgliteDb();
      gw = await startTestGateway({
        database: db,
        env: {
          REDIS_URL: `redis://127.0.0.1:${port}`,
          REDIS_COMMAND_TIMEOUT_MS: "200",
          RATE_LIMIT_REQUESTS: "20",
          RATE_LIMIT_WINDOW: "60",
          // Two processes share the limit: in fallback each takes half.
          RATE_LIMIT_PROCESSES: "2",
        },
      });
      await until(() => gw.gateway.deps.redis?.status === "ready", 3000);
    });
    after(async () => {
      await gw.stop();
      await db.drop();
      await stop(redisChild);
    });

    it("requests keep flowing under the memory limiter while redis is down; limits return to redis without a restart", async () => {
      const { key } = await gw.createAccountWithKey();
      const status = async () =>
        (await (await fetch(`${gw.url}/rate-limit`, { headers: { authorization: `Bearer ${key}` } })).json()) as { storage: string; redis: string; current_count: number; limit: number };
      const health = async () => ((await (await fetch(`${gw.url}/health`)).json()) as { status: string; components: Record<string, Record<string, unknown>> });
      for (let i = 0; i < 4; i++) await (await chat(gw.url, key)).body?.cancel();
      assert.deepEqual(await status().then((s) => [s.storage, s.redis, s.current_count]), ["redis", "up", 4]);

      await stop(redisChild);
      const codes: number[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 15; i++) {
        const r = await chat(gw.url, key);
        codes.push(r.status);
        await r.body?.cancel();
      }
      const ms = Date.now() - t0;
      const down = await status();
      const h = await health();
      const ok = codes.filter((c) => c === 200).length;
      console.log(`# gateway, redis killed: 15 requests in ${ms} ms → ${ok} × 200, ${codes.filter((c) => c === 429).length} × 429, other ${codes.filter((c) => c !== 200 && c !== 429).length}`);
      assert.ok(codes.every((c) => c === 200 || c === 429), `no 5xx while redis is down: ${codes.join(",")}`);
      assert.equal(ok, 10, "memory share = ceil(20 / 2)");
      assert.equal(down.storage, "memory");
      assert.equal(down.redis, "down");
      assert.equal(down.limit, 10);
      assert.equal(h.status, "degraded");
      assert.equal(h.components.redis?.status, "degraded");
      assert.equal(h.components.rate_limits?.storage, "memory");
      assert.equal(h.components.rate_limits?.redis, "down");

      redisChild = await startRedis(port);
      const back = await until(() => gw.gateway.deps.redis?.status === "ready", 5000);
      const up = await status();
      console.log(`# gateway, redis restarted: back on redis ${back} ms after the port accepted`);
      assert.equal(up.storage, "redis");
      assert.equal(up.limit, 20);
      const r = await chat(gw.url, key);
      assert.equal(r.status, 200);
      await r.body?.cancel();
      // Counted in the (new, empty) Redis again.
      assert.equal((await status()).current_count, 1);
      assert.equal((await health()).components.rate_limits?.storage, "redis");
    });
  });
}
