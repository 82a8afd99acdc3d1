import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ScriptedReply } from "./native-upstream.js";

/**
 * A fake OpenAI-compatible upstream for tests. It answers from transcripts recorded in OpenAI's wire
 * format (test/fixtures/sse/openai/): chat completions (JSON, stream with role chunk, content chunks,
 * finish chunk, the `stream_options.include_usage` chunk and `[DONE]`; tool calls), legacy
 * completions, embeddings and the Responses API (JSON and its typed SSE events). The recordings give
 * the shape; the fake fills in the model asked for, the text (the recorded deltas, cycled when a test
 * wants more chunks) and usage counted from the request, so a test can reason about the numbers.
 *
 * A test steers it per server (`configure`, optionally for the next `times` requests) or per
 * request (a `fake` or `mock` object in the JSON body, which the gateway forwards to an
 * OpenAI-compatible server on loopback as an unknown field).
 */
export interface FakeBehaviour {
  /** Answer with this HTTP status and OpenAI's recorded error body for it. */
  status?: number;
  /** The error body's message instead of the recorded one. */
  error_message?: string;
  /** Delay before the response headers (ms). */
  delay_ms?: number;
  /** Content chunks in a stream, and words in a JSON answer (default: the recording's 5). */
  chunks?: number;
  /** Pause between content chunks (ms). */
  interval_ms?: number;
  /** Close the connection after K content chunks: no finish chunk, no usage, no `[DONE]`. */
  cut_after?: number;
  /** Never report usage (JSON `usage` left out, no usage chunk, no `response.usage`). */
  omit_usage?: boolean;
  /** Send the usage chunk only when the client asked (`stream_options.include_usage`), as OpenAI does. Default true. */
  usage_only_when_asked?: boolean;
  /** Report this usage instead of the counted one (`cost` as OpenRouter adds it). */
  usage?: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number; reasoning_tokens?: number; cost?: number };
  /** With `configure`: apply to the next N requests only, then go back to the default. */
  times?: number;
}

export interface FakeStats {
  requests: number;
  byPath: Record<string, number>;
  lastBody: unknown;
  lastHeaders: Record<string, string | string[] | undefined>;
  /** Requests whose client went away before the answer ended (a `cut_after` is not one). */
  aborted: number;
}

export interface OpenAIUpstream {
  url: string;
  /** Base URL with /v1, as providers are configured. */
  baseUrl: string;
  port: number;
  stats: FakeStats;
  configure(b: FakeBehaviour | null): void;
  /**
   * Answers for the next POST requests, sent verbatim before any behaviour applies: a JSON body, a
   * raw SSE transcript (e.g. `sseFixture("openai/responses-stream.txt")`, flushed frame by frame)
   * or a status with an error body.
   */
  script(...replies: ScriptedReply[]): void;
  /** Answer 404 model_not_found for these model names, as OpenAI does for a model it does not serve. */
  refuseModels(...names: string[]): void;
  resetStats(): void;
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;

const FIXTURES = new URL("../fixtures/sse/openai/", import.meta.url);

/** A recorded JSON answer under test/fixtures/sse/openai/. */
export function openAIFixture(name: string): Obj {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as Obj;
}

/** The frames of a recorded SSE transcript: `event:` name (Responses API) and `data:` payload. */
export function openAIStreamFixture(name: string): Array<{ event?: string; data: string }> {
  return readFileSync(new URL(name, FIXTURES), "utf8")
    .split(/\n\n/)
    .filter((f) => f.trim())
    .map((f) => {
      const lines = f.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7);
      const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      return event ? { event, data } : { data };
    });
}

const clone = <T>(v: T): T => structuredClone(v);

/** The fake's tokenizer: one token per 4 characters, at least 1 — stable across runs. */
export function fakeTokenCount(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === "string" ? p : typeof (p as Obj)?.text === "string" ? ((p as Obj).text as string) : JSON.stringify(p))).join("\n");
  return JSON.stringify(content ?? "");
}

function promptText(body: Obj): string {
  if (Array.isArray(body.messages)) return body.messages.map((m: { content?: unknown }) => textOf(m?.content)).join("\n");
  if (typeof body.prompt === "string") return body.prompt;
  if (Array.isArray(body.prompt)) return body.prompt.join("\n");
  if (typeof body.input === "string") return body.input;
  if (Array.isArray(body.input)) return body.input.map((i) => (i && typeof i === "object" ? textOf((i as Obj).content) : String(i))).join("\n");
  return "";
}

/** Recorded chat stream: its role, content, finish and usage chunks, taken apart once. */
function chatStreamParts(name: string) {
  const frames = openAIStreamFixture(name)
    .filter((f) => f.data !== "[DONE]")
    .map((f) => JSON.parse(f.data) as Obj & { choices: Array<Obj & { delta?: Obj; text?: string; finish_reason: string | null }> });
  const usage = frames.find((f) => f.choices.length === 0)!;
  const finish = frames.find((f) => f.choices[0]?.finish_reason)!;
  const body = frames.filter((f) => f !== usage && f !== finish);
  return { frames, usage, finish, body };
}

const CHAT = chatStreamParts("chat-stream.txt");
const TOOL = chatStreamParts("chat-tool-call-stream.txt");
const LEGACY = chatStreamParts("completions-stream.txt");
const RESPONSES = openAIStreamFixture("responses-stream.txt").map((f) => JSON.parse(f.data) as Obj);
const ERRORS = openAIFixture("errors.json") as Record<string, { error: Obj }>;
/** The recorded content deltas: the fake's words. */
const WORDS = CHAT.body.map((f) => f.choices[0]!.delta!.content).filter((c): c is string => typeof c === "string" && c !== "");

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(s), "x-request-id": `req_${status}fake` });
  res.end(s);
}

/** OpenAI's error body for a status: the recorded one, or a server_error shaped like it. */
function errorBody(status: number, message?: string): { error: Obj } {
  const recorded = ERRORS[String(status)] ?? { error: { message: `Upstream failure ${status}`, type: status >= 500 ? "server_error" : "invalid_request_error", param: null, code: null } };
  const body = clone(recorded);
  if (message !== undefined) body.error.message = message;
  return body;
}

const invalid = (message: string, param: string | null, code: string | null) => ({ error: { message, type: "invalid_request_error", param, code } });

/** The required parameters OpenAI checks before anything else, with its messages. */
function missingParameter(endpoint: string, body: Obj): { error: Obj } | null {
  if (!["/chat/completions", "/completions", "/embeddings", "/responses"].includes(endpoint)) return null;
  if (typeof body.model !== "string" || body.model === "") return invalid("you must provide a model parameter", null, null);
  if (endpoint === "/chat/completions") {
    if (!Array.isArray(body.messages)) return invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
    if (body.messages.length === 0) return invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array");
  }
  if (endpoint === "/embeddings" && body.input === undefined) return invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter");
  return null;
}

/** Arguments for a function call, made from the tool's JSON schema (first enum value, 1, true, or "mock"). */
function toolCallFor(body: Obj): { name: string; arguments: string } | null {
  type Tool = { type?: string; function?: { name?: string; parameters?: { properties?: Record<string, { type?: string; enum?: unknown[] }>; required?: string[] } } };
  const tools = Array.isArray(body.tools) ? (body.tools as Tool[]) : [];
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: string }>) : [];
  const tool = tools.find((t) => t.type === "function" && t.function?.name);
  // Once a tool result is in, a model answers in text.
  if (!tool || messages.at(-1)?.role === "tool") return null;
  const args: Obj = {};
  const props = tool.function!.parameters?.properties ?? {};
  for (const name of tool.function!.parameters?.required ?? Object.keys(props)) {
    const p = props[name] ?? {};
    args[name] = p.enum?.length ? p.enum[0] : p.type === "number" || p.type === "integer" ? 1 : p.type === "boolean" ? true : "mock";
  }
  return { name: tool.function!.name!, arguments: JSON.stringify(args) };
}

export async function startOpenAIUpstream(options: { port?: number; host?: string; behaviour?: FakeBehaviour } = {}): Promise<OpenAIUpstream> {
  let serverBehaviour: FakeBehaviour | null = options.behaviour ?? null;
  const scripted: ScriptedReply[] = [];
  const refused = new Set<string>();
  const stats: FakeStats = { requests: 0, byPath: {}, lastBody: null, lastHeaders: {}, aborted: 0 };

  function effective(body: Obj): FakeBehaviour {
    const knob = body.fake ?? body.mock;
    const perRequest = (knob && typeof knob === "object" ? knob : {}) as FakeBehaviour;
    let server: FakeBehaviour = {};
    if (serverBehaviour) {
      server = serverBehaviour;
      if (serverBehaviour.times !== undefined) serverBehaviour = serverBehaviour.times > 1 ? { ...serverBehaviour, times: serverBehaviour.times - 1 } : null;
    }
    return { ...server, ...perRequest };
  }

  function chatUsage(body: Obj, completion: string, b: FakeBehaviour): Obj {
    const u = b.usage ?? { prompt_tokens: fakeTokenCount(promptText(body)), completion_tokens: fakeTokenCount(completion) };
    const out: Obj = {
      prompt_tokens: u.prompt_tokens,
      completion_tokens: u.completion_tokens,
      total_tokens: u.prompt_tokens + u.completion_tokens,
      prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    if (u.cost !== undefined) out.cost = u.cost;
    return out;
  }

  // Past the recording the words repeat, a space apart.
  const words = (n: number) => Array.from({ length: n }, (_, i) => (i >= WORDS.length && i % WORDS.length === 0 ? " " : "") + WORDS[i % WORDS.length]!);

  /** Writes SSE frames with the behaviour's pacing and cut; false when the client left or the cut happened. */
  function streamer(res: ServerResponse, b: FakeBehaviour) {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-request-id": "req_streamfake" });
    res.flushHeaders();
    let closed = false;
    let cutting = false;
    res.on("close", () => {
      if (!res.writableFinished && !cutting) {
        closed = true;
        stats.aborted++;
      }
    });
    let content = 0;
    // What was written reaches the client before the connection drops.
    const cut = () => {
      cutting = true;
      return new Promise<void>((r) => res.write("", () => r())).then(() => void res.destroy());
    };
    return {
      frame: (data: unknown, event?: string) => void res.write(`${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`),
      /** Before content chunk i: the pause, the cut; false means stop writing. */
      async beforeContent(): Promise<boolean> {
        if (closed) return false;
        if (b.cut_after !== undefined && content >= b.cut_after) {
          await cut();
          return false;
        }
        if (content > 0) await sleep(b.interval_ms ?? 0);
        content++;
        return !closed;
      },
      /** After the last content chunk: a cut at exactly the end still drops the rest. */
      async afterContent(): Promise<boolean> {
        if (closed) return false;
        if (b.cut_after !== undefined && content >= b.cut_after) {
          await cut();
          return false;
        }
        return true;
      },
      end: (tail?: string) => res.end(tail),
    };
  }

  async function chat(res: ServerResponse, body: Obj, b: FakeBehaviour, legacy: boolean) {
    const model = String(body.model ?? "gpt-4o-mini");
    const parts = words(Math.max(0, b.chunks ?? WORDS.length));
    const text = parts.join("");
    const call = legacy ? null : toolCallFor(body);
    if (body.stream !== true) {
      const answer = openAIFixture(legacy ? "completions.json" : call ? "chat-tool-call.json" : "chat-completion.json");
      answer.model = model;
      const choice = (answer.choices as Obj[])[0]!;
      if (legacy) choice.text = text;
      else if (call) Object.assign(((choice.message as Obj).tool_calls as Obj[])[0]!.function as Obj, call);
      else (choice.message as Obj).content = text;
      if (b.omit_usage) delete answer.usage;
      else answer.usage = legacy ? trimLegacyUsage(chatUsage(body, text, b)) : chatUsage(body, call?.arguments ?? text, b);
      return json(res, 200, answer);
    }
    const rec = legacy ? LEGACY : call ? TOOL : CHAT;
    const asked = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const sendUsage = !b.omit_usage && (asked || !(b.usage_only_when_asked ?? true));
    // With include_usage OpenAI puts `usage: null` on every chunk; without, the key is absent.
    const shape = (f: Obj): Obj => {
      const out = clone(f);
      out.model = model;
      if (!asked) delete out.usage;
      return out;
    };
    const s = streamer(res, b);
    const role = rec.body[0]!;
    const pieces: string[] = call ? fragments(call.arguments) : parts;
    if (!legacy) {
      const first = shape(role);
      if (call) Object.assign((((first.choices as Obj[])[0]!.delta as Obj).tool_calls as Obj[])[0]!.function as Obj, { name: call.name, arguments: "" });
      s.frame(first);
    }
    const template = rec.body[1]!;
    for (const piece of pieces) {
      if (!(await s.beforeContent())) return;
      const f = shape(template);
      const choice = (f.choices as Obj[])[0]!;
      if (legacy) choice.text = piece;
      else if (call) (((choice.delta as Obj).tool_calls as Obj[])[0]!.function as Obj).arguments = piece;
      else (choice.delta as Obj).content = piece;
      s.frame(f);
    }
    if (!(await s.afterContent())) return;
    s.frame(shape(rec.finish));
    if (sendUsage) {
      const u = shape(rec.usage);
      u.usage = legacy ? trimLegacyUsage(chatUsage(body, text, b)) : chatUsage(body, call?.arguments ?? text, b);
      s.frame(u);
    }
    s.end("data: [DONE]\n\n");
  }

  function embeddings(res: ServerResponse, body: Obj, b: FakeBehaviour) {
    const answer = openAIFixture("embeddings.json");
    const recorded = (answer.data as Array<{ embedding: number[] }>)[0]!.embedding;
    const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
    answer.data = inputs.map((_, index) => ({
      object: "embedding",
      index,
      // The openai SDK asks for base64 by default and decodes it into float32s.
      embedding: body.encoding_format === "base64" ? Buffer.from(new Float32Array(recorded).buffer).toString("base64") : recorded,
    }));
    answer.model = String(body.model ?? answer.model);
    const prompt = b.usage?.prompt_tokens ?? inputs.reduce((s, t) => s + fakeTokenCount(t), 0);
    if (b.omit_usage) delete answer.usage;
    else answer.usage = { prompt_tokens: prompt, total_tokens: prompt };
    return json(res, 200, answer);
  }

  function responsesUsage(body: Obj, text: string, b: FakeBehaviour): Obj | null {
    if (b.omit_usage) return null;
    const u = b.usage ?? { prompt_tokens: fakeTokenCount(promptText(body)), completion_tokens: fakeTokenCount(text) };
    return {
      input_tokens: u.prompt_tokens,
      input_tokens_details: { cached_tokens: u.cached_tokens ?? 0, cache_write_tokens: 0 },
      output_tokens: u.completion_tokens,
      output_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0 },
      total_tokens: u.prompt_tokens + u.completion_tokens,
    };
  }

  async function responses(res: ServerResponse, body: Obj, b: FakeBehaviour) {
    const model = String(body.model ?? "gpt-4o-mini");
    const parts = words(Math.max(0, b.chunks ?? WORDS.length));
    const text = parts.join("");
    const fill = (r: Obj, done: boolean) => {
      r.model = model;
      for (const k of ["instructions", "max_output_tokens", "previous_response_id", "temperature", "top_p", "store", "metadata"] as const) if (body[k] !== undefined) r[k] = body[k];
      if (!done) return r;
      const item = (r.output as Obj[])[0]!;
      ((item.content as Obj[])[0]!).text = text;
      const usage = responsesUsage(body, text, b);
      if (usage) r.usage = usage;
      else delete r.usage;
      return r;
    };
    if (body.stream !== true) return json(res, 200, fill(openAIFixture("responses.json"), true));
    const s = streamer(res, b);
    let seq = 0;
    const emit = (e: Obj) => {
      e.sequence_number = seq++;
      s.frame(e, e.type as string);
    };
    const by = (type: string) => clone(RESPONSES.find((e) => e.type === type)!);
    for (const t of ["response.created", "response.in_progress"]) {
      const e = by(t);
      fill(e.response as Obj, false);
      emit(e);
    }
    emit(by("response.output_item.added"));
    emit(by("response.content_part.added"));
    for (const piece of parts) {
      if (!(await s.beforeContent())) return;
      const e = by("response.output_text.delta");
      e.delta = piece;
      emit(e);
    }
    if (!(await s.afterContent())) return;
    const textDone = by("response.output_text.done");
    textDone.text = text;
    emit(textDone);
    const partDone = by("response.content_part.done");
    (partDone.part as Obj).text = text;
    emit(partDone);
    const itemDone = by("response.output_item.done");
    (((itemDone.item as Obj).content as Obj[])[0]!).text = text;
    emit(itemDone);
    const completed = by("response.completed");
    fill(completed.response as Obj, true);
    emit(completed);
    s.end();
  }

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    try {
      stats.requests++;
      stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
      stats.lastHeaders = req.headers;
      if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
        return json(res, 200, {
          object: "list",
          data: ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"].map((id) => ({ id, object: "model", created: 1721172741, owned_by: "system" })),
        });
      }
      if (req.method !== "POST") return json(res, 404, errorBody(404, `Invalid URL (${req.method} ${path})`));
      const raw = await readBody(req);
      let body: Obj;
      try {
        body = JSON.parse(raw) as Obj;
      } catch {
        return json(res, 400, errorBody(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)"));
      }
      stats.lastBody = body;
      const next = scripted.shift();
      if (next) return await replay(res, next);
      const b = effective(body);
      await sleep(b.delay_ms ?? 0);
      if (b.status && b.status >= 400) return json(res, b.status, errorBody(b.status, b.error_message));
      if (typeof body.model === "string" && refused.has(body.model)) {
        return json(res, 404, errorBody(404, `The model \`${body.model}\` does not exist or you do not have access to it.`));
      }
      const endpoint = path.replace(/^\/v1/, "");
      const missing = missingParameter(endpoint, body);
      if (missing) return json(res, 400, missing);
      if (endpoint === "/chat/completions") return await chat(res, body, b, false);
      if (endpoint === "/completions") return await chat(res, body, b, true);
      if (endpoint === "/embeddings") return embeddings(res, body, b);
      if (endpoint === "/responses") return await responses(res, body, b);
      // Any other OpenAI-compatible endpoint (audio, moderations, rerank, …): echo with usage, for pass-through tests.
      return json(res, 200, { object: "fake.echo", path: endpoint, body, usage: b.omit_usage ? undefined : { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 } });
    } catch (e) {
      if (!res.headersSent) json(res, 500, errorBody(500, (e as Error).message));
      else res.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? "127.0.0.1"}:${port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    stats,
    configure: (bh) => {
      serverBehaviour = bh;
    },
    script: (...replies) => void scripted.push(...replies),
    refuseModels: (...names) => {
      for (const n of names) refused.add(n);
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

async function replay(res: ServerResponse, reply: ScriptedReply): Promise<void> {
  if ("error" in reply) return json(res, reply.status, reply.error);
  if ("json" in reply) return json(res, reply.status ?? 200, reply.json);
  res.writeHead(reply.status ?? 200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  for (const f of reply.sse.split(/\n\n/).filter((x) => x.trim())) {
    res.write(`${f}\n\n`);
    // A frame per tick, as a real upstream flushes them.
    await new Promise((r) => setImmediate(r));
  }
  res.end();
}

/** Legacy completions report no token details. */
function trimLegacyUsage(u: Obj): Obj {
  const { prompt_tokens_details: _p, completion_tokens_details: _c, ...rest } = u;
  return rest;
}

/** JSON arguments streamed as OpenAI does: a few fragments that concatenate to the whole. */
function fragments(args: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 4) out.push(args.slice(i, i + 4));
  return out.length ? out : [""];
}
