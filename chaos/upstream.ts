/**
 * The chaos suite's fault-injecting upstream (OpenAI-compatible, loopback only). The fault is the
 * upstream model name the gateway sends (one configured model per fault), so it cannot depend on
 * the gateway forwarding any extra field:
 *
 *   ok          honours max_tokens (≤ 40 words) and n; exact usage
 *   slow        like ok, 1 word every 20 ms, up to max_tokens (≤ 4000)
 *   ignore-max  streams 3000 words whatever max_tokens says; exact usage
 *   ignore-n    like ok but always 20 choices, whatever n says
 *   lie-huge    5 words; reports 10^15 prompt and completion tokens
 *   lie-cost    5 words; reports usage.cost = 1000 USD
 *   zero-usage  50 words; reports {0, 0}
 *   cut         20 words, then destroys the socket (no usage, no [DONE])
 *   stall       10 words, then sends nothing more (the gateway's idle timeout must end it)
 *   5xx         HTTP 500
 *
 * Every word is one token in o200k (" the", " cat", …), so a client counting delivered tokens and
 * the gateway counting them agree exactly. `/__stats` reports what was generated.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

const WORDS = " the cat sat on a mat and dog ran to big red sun in of is it we you he she they".split(" ").filter(Boolean).map((w) => ` ${w}`);

export interface UpstreamStats {
  requests: number;
  /** Words (= tokens) written into responses. */
  generated: number;
  byFault: Record<string, number>;
}

export async function startChaosUpstream(): Promise<{ url: string; stats: UpstreamStats; close(): Promise<void> }> {
  const stats: UpstreamStats = { requests: 0, generated: 0, byFault: {} };
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.url === "/__stats") return json(res, 200, stats);
    let raw = "";
    for await (const c of req) raw += c;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw || "{}") as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { message: "bad json" } });
    }
    if (!req.url?.endsWith("/chat/completions")) return json(res, 404, { error: { message: "not here" } });
    stats.requests++;
    const fault = String(body.model ?? "ok");
    stats.byFault[fault] = (stats.byFault[fault] ?? 0) + 1;
    if (fault === "5xx") return json(res, 500, { error: { message: "upstream exploded", type: "server_error" } });
    const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : 1000;
    const nReq = typeof body.n === "number" && body.n > 0 ? Math.min(body.n, 50) : 1;
    const n = fault === "ignore-n" ? 20 : nReq;
    const words =
      fault === "ignore-max" ? 3000
      : fault === "slow" ? Math.min(maxTokens, 4000)
      : fault === "lie-huge" || fault === "lie-cost" ? Math.min(5, maxTokens)
      : fault === "zero-usage" ? 50
      : fault === "cut" ? 20
      : fault === "stall" ? 10
      : Math.min(maxTokens, 40);
    const prompt = 12;
    const usage = (completion: number) =>
      fault === "lie-huge" ? { prompt_tokens: 1e15, completion_tokens: 1e15, total_tokens: 2e15 }
      : fault === "zero-usage" ? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
      : { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...(fault === "lie-cost" ? { cost: 1000 } : {}) };
    const id = `chatcmpl-chaos-${stats.requests}`;
    const model = fault;
    if (body.stream !== true) {
      const choices = Array.from({ length: n }, (_, i) => ({ index: i, message: { role: "assistant", content: text(words) }, finish_reason: "stop" }));
      stats.generated += words * n;
      return json(res, 200, { id, object: "chat.completion", created: 1, model, choices, usage: usage(words * n) });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    open.add(res);
    res.once("close", () => open.delete(res));
    const frame = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    for (let c = 0; c < n; c++) frame({ id, object: "chat.completion.chunk", created: 1, model, choices: [{ index: c, delta: { role: "assistant", content: "" }, finish_reason: null }] });
    let sent = 0;
    for (let i = 0; i < words; i++) {
      if (res.destroyed) return;
      for (let c = 0; c < n; c++) {
        frame({ id, object: "chat.completion.chunk", created: 1, model, choices: [{ index: c, delta: { content: WORDS[i % WORDS.length] }, finish_reason: null }] });
        sent++;
        stats.generated++;
      }
      if (fault === "slow") await sleep(20);
      else if (i % 50 === 49) await sleep(1);
    }
    if (fault === "cut") {
      res.destroy();
      return;
    }
    if (fault === "stall") return; // never ends; the gateway's idle timeout (or the client) closes it
    for (let c = 0; c < n; c++) frame({ id, object: "chat.completion.chunk", created: 1, model, choices: [{ index: c, delta: {}, finish_reason: "stop" }] });
    const so = body.stream_options as { include_usage?: unknown } | undefined;
    if (so?.include_usage === true) frame({ id, object: "chat.completion.chunk", created: 1, model, choices: [], usage: usage(sent) });
    res.end("data: [DONE]\n\n");
  }
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    stats,
    close: async () => {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function text(words: number): string {
  let s = "";
  for (let i = 0; i < words; i++) s += WORDS[i % WORDS.length];
  return s;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(s) });
  res.end(s);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
