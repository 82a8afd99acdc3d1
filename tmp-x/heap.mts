import { writeHeapSnapshot } from "node:v8";
import { Pool } from "undici";
import { createPostgresDb } from "../test/helpers/db.js";
import { startTestGateway } from "../test/helpers/gateway.js";
const N = Number(process.env.N ?? 1000);
const d = await createPostgresDb();
const gw = await startTestGateway({ database: d, env: { RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0" } });
const { key } = await gw.createAccountWithKey({ balance: "100000" });
const gc = (globalThis as { gc: () => void }).gc;
const body = JSON.stringify({ model: "openai/gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hello there, a slow stream please" }], max_tokens: 2000, mock: { chunks: 1000, interval_ms: 500 } });
// warm up
const pool = new Pool(gw.url, { connections: N + 10, pipelining: 1, bodyTimeout: 0, headersTimeout: 60_000 });
for (let i = 0; i < 20; i++) { const r = await pool.request({ path: "/v1/chat/completions", method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }) }); await r.body.text(); }
await new Promise((r) => setTimeout(r, 3000));
gc(); gc();
const h0 = process.memoryUsage();
writeHeapSnapshot("/work/tmp/h0.heapsnapshot");
const acs: AbortController[] = [];
let flowing = 0;
await Promise.all(Array.from({ length: N }, async () => {
  const ac = new AbortController(); acs.push(ac);
  const r = await pool.request({ path: "/v1/chat/completions", method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body, signal: ac.signal });
  const it = (r.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  await it.next(); flowing++;
  void (async () => { try { for (;;) { const x = await it.next(); if (x.done) break; } } catch {} })();
}));
await new Promise((r) => setTimeout(r, 4000));
gc(); gc();
const h1 = process.memoryUsage();
writeHeapSnapshot("/work/tmp/h1.heapsnapshot");
console.log("flowing", flowing, "heapUsed per stream KB", ((h1.heapUsed - h0.heapUsed) / N / 1024).toFixed(1), "rss per stream KB (whole process incl. client)", ((h1.rss - h0.rss) / N / 1024).toFixed(1), "external per stream", ((h1.external - h0.external) / N / 1024).toFixed(1), "arrayBuffers", ((h1.arrayBuffers - h0.arrayBuffers) / N / 1024).toFixed(1));
for (const ac of acs) ac.abort();
await new Promise((r) => setTimeout(r, 2000));
await pool.destroy().catch(() => {});
await gw.stop(); await d.drop();
process.exit(0);
