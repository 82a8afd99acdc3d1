import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { eq } from "drizzle-orm";
import { openDatabase } from "../../src/db/client.js";
import { requestLogs } from "../../src/db/schema/index.js";
import { startOpenAIUpstream } from "../fakes/openai-upstream.js";
import { ADMIN_TOKEN, spawnGateway } from "../helpers/gateway.js";

test("first run with nothing configured: demo mode, loud, and the printed curl line works", async () => {
  const gw = await spawnGateway({});
  try {
    const out = gw.output();
    assert.match(out, /DEMO MODE/);
    const m = /curl -s (\S+)\/v1\/chat\/completions -H 'Authorization: Bearer (sk-gw-[A-Za-z0-9]+)'/.exec(out);
    assert.ok(m, `curl line printed:\n${out}`);
    const res = await fetch(`${m[1]}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${m[2]}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello!" }] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    assert.ok(body.choices[0]!.message.content.length > 0);
    const health = (await (await fetch(`${gw.url}/health`)).json()) as { mode: string; status: string; components: Record<string, { status: string }> };
    assert.equal(health.mode, "demo");
    assert.equal(health.components.database!.status, "ok");
    assert.ok(health.components.providers);
    assert.ok(!out.includes(ADMIN_TOKEN), "an admin token the operator set is never printed");
  } finally {
    assert.equal(await gw.stop(), 0);
  }
});

test("SIGTERM drains an in-flight stream to its end and flushes its log row", async () => {
  const mock = await startOpenAIUpstream();
  const dataDir = mkdtempSync(join(tmpdir(), "gw-sigterm-"));
  const gw = await spawnGateway({ DATA_DIR: dataDir, UPSTREAM_BASE_URL: mock.baseUrl, BILLING_UNPRICED_HOLD: "1.00", LOG_LEVEL: "warn" });
  let requestId = "";
  try {
    const admin = (path: string, body: unknown) =>
      fetch(gw.url + path, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, string>>);
    const acct = await admin("/admin/accounts", { name: "sig", initial_balance: "10" });
    const key = await admin("/v1/key/generate", { account_id: acct.id, name: "k" });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "m/x", stream: true, messages: [{ role: "user", content: "slow" }], mock: { chunks: 20, interval_ms: 50 } }),
    });
    requestId = res.headers.get("x-request-id")!;
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    gw.child.kill("SIGTERM");
    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      text += new TextDecoder().decode(r.value);
    }
    assert.match(text, /data: \[DONE\]/, "the stream ran to its end after SIGTERM");
  } finally {
    const code = await gw.stop();
    assert.equal(code, 0);
    await mock.close();
  }
  const database = await openDatabase({ dataDir });
  try {
    const [row] = await database.db.select().from(requestLogs).where(eq(requestLogs.id, requestId));
    assert.ok(row, "log row flushed before exit");
    assert.equal(row.status, "completed");
    assert.ok((row.completionTokens ?? 0) > 0);
  } finally {
    await database.close();
  }
});
