import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A deterministic OpenAI-compatible upstream for demo mode and benchmarks (the test suite has its
 * own fake, test/fakes/openai-upstream.ts, answering from recorded transcripts). It answers every
 * model name it is sent.
 * Behaviour can be set per server (`options`, or POST /__mock/config at runtime) and per request
 * (a `mock` object in the JSON body, which the gateway passes through untouched as an unknown field).
 */
export interface MockBehaviour {
  /** Answer with this HTTP status and an OpenAI-shaped error body instead of a completion. */
  status?: number;
  /** Error message for `status`. */
  error_message?: string;
  /** Delay before the response headers (ms). */
  delay_ms?: number;
  /** Number of content chunks in a stream (default 5). */
  chunks?: number;
  /** Interval between stream chunks (ms, default 0). */
  interval_ms?: number;
  /** Close the connection after K content chunks (no finish, no usage, no [DONE]). */
  cut_after?: number;
  /** Never send usage (JSON `usage` omitted, no usage chunk). */
  omit_usage?: boolean;
  /** Send the usage chunk only when the client asked for it (stream_options.include_usage). Default true. */
  usage_only_when_asked?: boolean;
  /** Override the reported usage. */
  usage?: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number; reasoning_tokens?: number; cost?: number };
  /** Apply this behaviour to the next N requests only (server-level config), then revert. */
  times?: number;
}

export interface MockStats {
  requests: number;
  byPath: Record<string, number>;
  lastBody: unknown;
  lastHeaders: Record<string, string | string[] | undefined>;
  /** Requests whose client went away before the response ended. */
  aborted: number;
}

export interface MockUpstream {
  url: string;
  /** Base URL including /v1, as providers are configured. */
  baseUrl: string;
  port: number;
  stats: MockStats;
  configure(b: MockBehaviour | null): void;
  resetStats(): void;
  close(): Promise<void>;
}

const WORDS = ["Hello", " from", " the", " mock", " upstream", ".", " It", " streams", " tokens", " deterministically", "."];

/** Deterministic "token" count: one per 4 characters, at least 1 — stable across runs, not tiktoken. */
export function mockCountTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function promptText(body: Record<string, unknown>): string {
  if (Array.isArray(body.messages)) {
    return body.messages
      .map((m: { content?: unknown }) => (typeof m?.content === "string" ? m.content : JSON.stringify(m?.content ?? "")))
      .join("\n");
  }
  if (typeof body.prompt === "string") return body.prompt;
  if (Array.isArray(body.prompt)) return body.prompt.join("\n");
  if (typeof body.input === "string") return body.input;
  if (Array.isArray(body.input)) return body.input.map(String).join("\n");
  return "";
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export async function startMockUpstream(options: { port?: number; host?: string; behaviour?: MockBehaviour } = {}): Promise<MockUpstream> {
  let serverBehaviour: MockBehaviour | null = options.behaviour ?? null;
  const stats: MockStats = { requests: 0, byPath: {}, lastBody: null, lastHeaders: {}, aborted: 0 };

  function effective(body: Record<string, unknown>): MockBehaviour {
    const perRequest = (body.mock && typeof body.mock === "object" ? body.mock : {}) as MockBehaviour;
    let server: MockBehaviour = {};
    if (serverBehaviour) {
      server = serverBehaviour;
      if (serverBehaviour.times !== undefined) {
        serverBehaviour = serverBehaviour.times > 1 ? { ...serverBehaviour, times: serverBehaviour.times - 1 } : null;
      }
    }
    return { ...server, ...perRequest };
  }

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    try {
      if (path === "/__mock/config" && req.method === "POST") {
        const raw = await readBody(req);
        serverBehaviour = raw ? (JSON.parse(raw) as MockBehaviour) : null;
        return json(res, 200, { ok: true });
      }
      if (path === "/__mock/stats") return json(res, 200, stats);
      if (path === "/health") return json(res, 200, { ok: true });
      stats.requests++;
      stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
      stats.lastHeaders = req.headers;
      if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
        return json(res, 200, {
          object: "list",
          data: ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"].map((id) => ({ id, object: "model", created: 1700000000, owned_by: "mock" })),
        });
      }
      if (req.method !== "POST") return json(res, 404, { error: { message: "not found", type: "invalid_request_error" } });
      const raw = await readBody(req);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return json(res, 400, { error: { message: "invalid JSON", type: "invalid_request_error" } });
      }
      stats.lastBody = body;
      const b = effective(body);
      await sleep(b.delay_ms ?? 0);
      if (b.status && b.status >= 400) {
        return json(res, b.status, { error: { message: b.error_message ?? `mock failure ${b.status}`, type: "api_error", param: null, code: String(b.status) } });
      }
      const endpoint = path.replace(/^\/v1/, "");
      if (endpoint === "/chat/completions") return chat(req, res, body, b, false);
      if (endpoint === "/completions") return chat(req, res, body, b, true);
      if (endpoint === "/embeddings") return embeddings(res, body, b);
      // Anything else an OpenAI-compatible upstream might offer: echo with usage, for pass-through tests.
      return json(res, 200, { object: "mock.echo", path: endpoint, body, usage: b.omit_usage ? undefined : { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 } });
    } catch (e) {
      if (!res.headersSent) json(res, 500, { error: { message: (e as Error).message, type: "api_error" } });
      else res.destroy();
    }
  });

  function usageFor(body: Record<string, unknown>, completion: string, b: MockBehaviour) {
    const u = b.usage ?? { prompt_tokens: mockCountTokens(promptText(body)), completion_tokens: mockCountTokens(completion) };
    const out: Record<string, unknown> = {
      prompt_tokens: u.prompt_tokens,
      completion_tokens: u.completion_tokens,
      total_tokens: u.prompt_tokens + u.completion_tokens,
    };
    if (u.cached_tokens !== undefined) out.prompt_tokens_details = { cached_tokens: u.cached_tokens };
    if (u.reasoning_tokens !== undefined) out.completion_tokens_details = { reasoning_tokens: u.reasoning_tokens };
    if (u.cost !== undefined) out.cost = u.cost;
    return out;
  }

  /** A call of the request's first function tool, with arguments made from its JSON schema; null when a tool result is already in. */
  function toolCallFor(body: Record<string, unknown>) {
    const tools = Array.isArray(body.tools) ? (body.tools as Array<{ type?: string; function?: { name?: string; parameters?: { properties?: Record<string, { type?: string; enum?: unknown[] }>; required?: string[] } } }>) : [];
    const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: string }>) : [];
    const tool = tools.find((t) => t.type === "function" && t.function?.name);
    if (!tool || messages.at(-1)?.role === "tool") return null;
    const args: Record<string, unknown> = {};
    const props = tool.function!.parameters?.properties ?? {};
    for (const name of tool.function!.parameters?.required ?? Object.keys(props)) {
      const p = props[name] ?? {};
      args[name] = p.enum?.length ? p.enum[0] : p.type === "number" || p.type === "integer" ? 1 : p.type === "boolean" ? true : "mock";
    }
    return { id: "call_mock_1", type: "function" as const, function: { name: tool.function!.name!, arguments: JSON.stringify(args) } };
  }

  function pieces(n: number): string[] {
    return Array.from({ length: n }, (_, i) => WORDS[i % WORDS.length]!);
  }

  async function chat(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, b: MockBehaviour, legacy: boolean) {
    const model = String(body.model ?? "mock");
    const n = Math.max(0, b.chunks ?? 5);
    const parts = pieces(n);
    const created = 1700000000;
    const id = legacy ? "cmpl-mock" : "chatcmpl-mock";
    const call = legacy ? null : toolCallFor(body);
    if (body.stream !== true && call) {
      // Like a real model given tools: call the first one; once a tool result is in, answer in text.
      const usage = b.omit_usage ? undefined : usageFor(body, call.function.arguments, b);
      return json(res, 200, { id, object: "chat.completion", created, model, choices: [{ index: 0, message: { role: "assistant", content: null, refusal: null, tool_calls: [call] }, finish_reason: "tool_calls", logprobs: null }], usage });
    }
    if (body.stream !== true) {
      const text = parts.join("");
      const usage = b.omit_usage ? undefined : usageFor(body, text, b);
      const payload = legacy
        ? { id, object: "text_completion", created, model, choices: [{ index: 0, text, finish_reason: "stop", logprobs: null }], usage }
        : { id, object: "chat.completion", created, model, choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, finish_reason: "stop", logprobs: null }], usage };
      return json(res, 200, payload);
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.flushHeaders();
    let closed = false;
    res.on("close", () => {
      if (!res.writableFinished) {
        closed = true;
        stats.aborted++;
      }
    });
    const write = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    const chunk = (delta: Record<string, unknown> | string, finish: string | null) =>
      legacy
        ? { id, object: "text_completion", created, model, choices: [{ index: 0, text: delta, finish_reason: finish, logprobs: null }] }
        : { id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }] };
    if (!legacy) write(chunk({ role: "assistant", content: "" }, null));
    for (let i = 0; i < n; i++) {
      if (closed) return;
      if (b.cut_after !== undefined && i >= b.cut_after) {
        res.destroy();
        return;
      }
      if (i > 0 || legacy) await sleep(b.interval_ms ?? 0);
      if (closed) return;
      write(legacy ? chunk(parts[i]!, null) : chunk({ content: parts[i]! }, null));
    }
    if (b.cut_after !== undefined && b.cut_after <= n) {
      res.destroy();
      return;
    }
    write(legacy ? chunk("", "stop") : chunk({}, "stop"));
    const asked = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const onlyWhenAsked = b.usage_only_when_asked ?? true;
    if (!b.omit_usage && (asked || !onlyWhenAsked)) {
      const usage = usageFor(body, parts.join(""), b);
      write(legacy ? { id, object: "text_completion", created, model, choices: [], usage } : { id, object: "chat.completion.chunk", created, model, choices: [], usage });
    }
    res.end("data: [DONE]\n\n");
    void req;
  }

  function embeddings(res: ServerResponse, body: Record<string, unknown>, b: MockBehaviour) {
    const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
    const data = inputs.map((text, index) => {
      const v = Array.from({ length: 8 }, (_, i) => Number((((text.length + 1) * (i + 1)) % 97) / 97).valueOf());
      // The openai SDK asks for base64 by default and decodes it into float32s.
      const embedding = body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
      return { object: "embedding", index, embedding };
    });
    const prompt = inputs.reduce((s, t) => s + mockCountTokens(t), 0);
    return json(res, 200, {
      object: "list",
      data,
      model: String(body.model ?? "mock-embedding"),
      usage: b.omit_usage ? undefined : { prompt_tokens: b.usage?.prompt_tokens ?? prompt, total_tokens: b.usage?.prompt_tokens ?? prompt },
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? "127.0.0.1";
  const url = `http://${host}:${port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    stats,
    configure: (bh) => {
      serverBehaviour = bh;
    },
    resetStats: () => {
      stats.requests = 0;
      stats.byPath = {};
      stats.lastBody = null;
      stats.aborted = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(s) });
  res.end(s);
}
