/**
 * The bare Node proxy the gateway is measured against: the least a billing proxy must do per
 * request, and nothing else. Key check (one Map lookup), JSON parse of the body, one pooled undici
 * forward per upstream origin, the answer's `usage` read (non-stream: the body parsed; stream: the
 * frames scanned as they pass through). No database, no limiter, no log.
 *
 * Env: BASELINE_PORT, BASELINE_UPSTREAM (base URL incl. /v1), BASELINE_KEY (the one accepted key),
 * BASELINE_UPSTREAM_KEY (sent upstream).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Pool } from "undici";

const port = Number(process.env.BASELINE_PORT ?? 18100);
const upstream = new URL(process.env.BASELINE_UPSTREAM ?? "http://127.0.0.1:18000/v1");
const keys = new Map([[`Bearer ${process.env.BASELINE_KEY ?? "sk-baseline"}`, { account: "bench" }]]);
const upstreamAuth = `Bearer ${process.env.BASELINE_UPSTREAM_KEY ?? "x"}`;
// No connection cap below what the box holds: one keep-alive connection per concurrent request.
const pool = new Pool(upstream.origin, { connections: null, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 60_000, bodyTimeout: 0 });
const basePath = upstream.pathname.replace(/\/$/, "");

/** Tokens the process has seen reported, so the usage read cannot be optimized away. */
let usageTokens = 0;

function fail(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { message, type: "invalid_request_error" } });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    req.on("error", reject);
  });
}

/** Usage from the SSE frames that pass (the usage chunk is the last data frame before [DONE]). */
function scanUsage(text: string): void {
  const i = text.lastIndexOf('"usage":{');
  if (i === -1) return;
  const m = /"completion_tokens":(\d+)/.exec(text.slice(i));
  if (m) usageTokens += Number(m[1]);
}

const server = createServer(async (req, res) => {
  if (req.url === "/health") return void res.end("ok");
  if (req.method !== "POST" || !req.url?.startsWith("/v1/")) return fail(res, 404, "not found");
  const who = keys.get(req.headers.authorization ?? "");
  if (!who) return fail(res, 401, "invalid key");
  let raw: Buffer;
  let body: { stream?: boolean };
  try {
    raw = await readBody(req);
    body = JSON.parse(raw.toString("utf8")) as { stream?: boolean };
  } catch {
    return fail(res, 400, "invalid JSON");
  }
  const ac = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  try {
    const up = await pool.request({
      path: basePath + req.url.slice(3),
      method: "POST",
      headers: { authorization: upstreamAuth, "content-type": "application/json" },
      body: raw,
      signal: ac.signal,
    });
    if (body.stream === true) {
      res.writeHead(up.statusCode, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      for await (const chunk of up.body as AsyncIterable<Buffer>) {
        res.write(chunk);
        scanUsage(chunk.toString("utf8"));
      }
      res.end();
      return;
    }
    const text = await up.body.text();
    const j = JSON.parse(text) as { usage?: { completion_tokens?: number } };
    usageTokens += j.usage?.completion_tokens ?? 0;
    res.writeHead(up.statusCode, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  } catch (e) {
    if (!res.headersSent) fail(res, 502, "upstream failed");
    else res.destroy(e as Error);
  }
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => console.log(`baseline proxy on ${port}`));
const stop = () => {
  console.log(`baseline proxy: ${usageTokens} completion tokens seen`);
  server.close();
  void pool.close().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
