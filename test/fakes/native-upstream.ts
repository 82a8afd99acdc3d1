import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFileSync } from "node:fs";

/** One scripted answer: a JSON body, a raw SSE transcript, or an error. */
export type ScriptedReply =
  | { json: unknown; status?: number }
  | { sse: string; status?: number }
  | { status: number; error: unknown };

export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

export interface NativeUpstream {
  baseUrl: string;
  requests: RecordedRequest[];
  /** Answers for the next requests, in order; when none is left the default answer is used. */
  script(...replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

/** An SSE transcript recorded under test/fixtures/sse/. */
export function sseFixture(path: string): string {
  return readFileSync(new URL(`../fixtures/sse/${path}`, import.meta.url), "utf8");
}

/**
 * A node:http server for a native wire format: `check` validates the request as the provider does
 * (returns an error reply to send instead), `fallback` answers when the script is empty.
 */
export async function startNativeUpstream(opts: {
  check(req: RecordedRequest): ScriptedReply | null;
  fallback(req: RecordedRequest): ScriptedReply;
}): Promise<NativeUpstream> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedReply[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    for await (const p of req) parts.push(p as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(parts).toString() || "{}") as Record<string, unknown>;
    } catch {
      /* checked below as an empty body */
    }
    const rec: RecordedRequest = { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body };
    requests.push(rec);
    const reply = opts.check(rec) ?? queue.shift() ?? opts.fallback(rec);
    if ("error" in reply) {
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(JSON.stringify(reply.error));
    } else if ("sse" in reply) {
      res.writeHead(reply.status ?? 200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      // Frame by frame, as a real upstream flushes them.
      const frames = reply.sse.split(/\n\n/).filter((f) => f.trim());
      for (const f of frames) res.write(f + "\n\n");
      res.end();
    } else {
      res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
      res.end(JSON.stringify(reply.json));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${addr.port}`,
    requests,
    script: (...r) => void queue.push(...r),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
