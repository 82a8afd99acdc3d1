import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

/**
 * An OpenAI-compatible upstream that misbehaves on request, for the money-bound tests. The
 * request body's `fake` field says how:
 * - `{ stream_tokens: N }`: stream N one-word chunks, ignoring max_tokens and n, then `usage`;
 * - `{ usage: {...} }`: report this usage (non-stream or at the end of the stream);
 * - `{ responses_cut: N }`: a responses-API stream of N deltas that ends without response.completed.
 */
export interface FakeUpstream {
  baseUrl: string;
  /** Chunks written per request id (the `x-request-id` the gateway does not send: by arrival order). */
  written: number[];
  lastBody: Record<string, unknown> | null;
  close(): Promise<void>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const written: number[] = [];
  const state: FakeUpstream = { baseUrl: "", written, lastBody: null, close: async () => undefined };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    for await (const p of req) parts.push(p as Buffer);
    const body = JSON.parse(Buffer.concat(parts).toString() || "{}") as Record<string, unknown>;
    state.lastBody = body;
    const fake = (body.fake ?? {}) as { stream_tokens?: number; usage?: Record<string, unknown>; responses_cut?: number };
    const slot = written.push(0) - 1;
    if (fake.responses_cut !== undefined) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (let i = 0; i < fake.responses_cut; i++) {
        res.write(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", delta: " word" })}\n\n`);
        written[slot]!++;
      }
      // Cut the connection once the deltas are out: no response.completed, no usage.
      setTimeout(() => res.destroy(), 100);
      return;
    }
    if (body.stream === true) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const n = fake.stream_tokens ?? 5;
      const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
      res.write(chunk({ role: "assistant", content: "" }));
      let i = 0;
      const pump = () => {
        while (i < n) {
          i++;
          written[slot]!++;
          if (!res.write(chunk({ content: " word" }))) return void res.once("drain", pump);
        }
        const usage = fake.usage ?? { prompt_tokens: 10, completion_tokens: n, total_tokens: 10 + n };
        res.write(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", model: "m", choices: [], usage })}\n\n`);
        res.end("data: [DONE]\n\n");
      };
      res.on("close", () => (i = n + 1));
      pump();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: "c1",
        object: "chat.completion",
        model: "m",
        choices: [{ index: 0, message: { role: "assistant", content: "fine" }, finish_reason: "stop" }],
        usage: fake.usage ?? { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
