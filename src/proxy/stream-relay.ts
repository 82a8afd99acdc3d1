import type { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { AppError } from "../core/errors.js";
import type { UpstreamResponse } from "./upstream.js";
import { streamErrorFrame } from "./upstream-errors.js";

/** The upstream side of a stream: chunks held back while committing, then the rest. */
export interface RelaySource {
  head: Buffer[];
  iterator: AsyncIterator<Buffer>;
  /** Frees the upstream's timers; `abort` also drops its connection (the body was not read to its end). */
  close(abort: boolean): void;
}

/** Reads (and may rewrite) chunks on their way to the client. */
export interface RelayTap {
  push(chunk: Buffer): Buffer | string;
  flush(): string;
  readonly sawContent: boolean;
  /** Nothing more may be forwarded (the output reached what the hold covers). */
  readonly stopped: boolean;
}

export type RelayOutcome = "completed" | "cancelled" | "failed";

export interface RelayHooks {
  requestId: string;
  /** The client's request; aborted = the client went away. */
  signal: AbortSignal;
  onFirstContent(): void;
  /** A mid-stream upstream failure as the client is told it. */
  errorOf(e: unknown): AppError;
  /** What the client is told when the tap stopped the stream. */
  stoppedError(): AppError;
  /** The error event in the client's API (default: OpenAI's error frame). */
  errorFrame?: (err: AppError) => string;
  /** Before output goes to the client (stream progress); a returned promise is awaited. */
  beforeSend?: () => Promise<void> | undefined;
  /** Called once, when the stream is over for whatever reason. */
  onEnd(outcome: RelayOutcome, errorCode?: string): void;
}

type Step = { done: false; out: Buffer | string } | { done: true; out: string } | { cancel: true };

/**
 * One stream relay for every streamed answer (chat, completions, pass-through), in front of two
 * sinks: Node's socket (backpressure through `drain`) and a web ReadableStream (app.request and
 * other non-Node hosts). Ends exactly once: completed at the upstream's end, failed (with the one
 * SSE error event) when the upstream breaks or the tap stops it, cancelled when the client goes.
 */
class Relay {
  private ended = false;
  private contentSeen = false;

  constructor(
    private readonly src: RelaySource,
    private readonly tap: RelayTap,
    private readonly hooks: RelayHooks,
  ) {}

  async step(): Promise<Step> {
    try {
      const held = this.src.head.shift();
      const next = held !== undefined ? { done: false as const, value: held } : await this.src.iterator.next();
      if (this.ended) return { cancel: true };
      if (next.done) {
        const rest = this.tap.flush();
        if (rest && (await this.beforeSend())) return { cancel: true };
        this.end("completed");
        return { done: true, out: rest };
      }
      const out = this.tap.push(next.value);
      if (out.length && (await this.beforeSend())) return { cancel: true };
      if (!this.contentSeen && this.tap.sawContent) {
        this.contentSeen = true;
        this.hooks.onFirstContent();
      }
      if (this.tap.stopped) {
        const err = this.hooks.stoppedError();
        this.end("failed", err.code);
        return { done: true, out: String(out) + this.errorFrame(err) };
      }
      return { done: false, out };
    } catch (e) {
      if (this.ended || this.hooks.signal.aborted) return { cancel: true };
      // The upstream broke mid-stream: tell the client in OpenAI's shape, bill what was delivered.
      const err = this.hooks.errorOf(e);
      this.end("failed", err.code);
      return { done: true, out: this.errorFrame(err) };
    }
  }

  private errorFrame(err: AppError): string {
    return this.hooks.errorFrame ? this.hooks.errorFrame(err) : streamErrorFrame(err, this.hooks.requestId);
  }

  /** Runs the beforeSend hook; true when the stream ended meanwhile. */
  private async beforeSend(): Promise<boolean> {
    const w = this.hooks.beforeSend?.();
    if (w) await w;
    return this.ended;
  }

  cancel(): void {
    if (this.ended) return;
    this.end("cancelled", "client_closed");
  }

  /** The response could not even be started (e.g. the socket refused the headers). */
  abort(): void {
    this.end("failed", "internal_error");
  }

  private end(outcome: RelayOutcome, errorCode?: string): void {
    if (this.ended) return;
    this.ended = true;
    // Stop reading first: an upstream still sending must not keep the socket (or the meter) busy.
    const abort = outcome !== "completed";
    if (abort) void Promise.resolve(this.src.iterator.return?.()).catch(() => undefined);
    this.src.close(abort);
    this.hooks.onEnd(outcome, errorCode);
  }
}

/** Resolves when the socket can take more, or when the client has gone (then `false`). */
function writable(out: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      out.off("close", onClose);
      resolve(true);
    };
    const onClose = () => {
      out.off("drain", onDrain);
      resolve(false);
    };
    out.once("drain", onDrain);
    out.once("close", onClose);
  });
}

/**
 * The stream written straight to Node's response: frames go out as they arrive, a full socket
 * buffer pauses the upstream read (backpressure), and a client that goes away cancels it. What is
 * written within one turn of the event loop (the headers with the chunks held back while committing,
 * chunks the upstream sent together) leaves in one socket write: the socket is corked at the first
 * write and uncorked in the same turn's check phase (Node's own cork ends at the next tick, which
 * comes before the relay's next step).
 */
export function relayToNode(out: ServerResponse, status: number, headers: Record<string, string>, src: RelaySource, tap: RelayTap, hooks: RelayHooks): void {
  const relay = new Relay(src, tap, hooks);
  try {
    out.writeHead(status, headers);
    // With chunks held back the headers go out with them; without (a pass-through stream) at once,
    // so a client sees its answer start before the upstream's first byte.
    if (src.head.length === 0) out.flushHeaders();
  } catch (e) {
    relay.abort();
    throw e;
  }
  out.once("close", () => {
    if (!out.writableFinished) relay.cancel();
  });
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    out.uncork();
  };
  const pump = async () => {
    for (;;) {
      const s = await relay.step();
      if ("cancel" in s) {
        uncork();
        return relay.cancel();
      }
      if (s.done) {
        out.end(s.out || undefined);
        uncork();
        return;
      }
      if (s.out.length === 0) continue;
      if (!corked) {
        corked = true;
        out.cork();
        setImmediate(uncork);
      }
      if (!out.write(s.out)) {
        uncork();
        if (!(await writable(out))) return relay.cancel();
      }
    }
  };
  void pump();
}

const enc = new TextEncoder();

/** The same relay as a web ReadableStream (pull-based: one upstream read per client read). */
export function relayToWeb(status: number, headers: Record<string, string>, src: RelaySource, tap: RelayTap, hooks: RelayHooks): Response {
  const relay = new Relay(src, tap, hooks);
  const body = new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        const s = await relay.step();
        if ("cancel" in s) {
          relay.cancel();
          controller.error(new Error("client closed the request"));
          return;
        }
        if (s.out.length) controller.enqueue(typeof s.out === "string" ? enc.encode(s.out) : s.out);
        if (s.done) controller.close();
      },
      cancel: () => relay.cancel(),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status, headers });
}

/**
 * A committed upstream stream relayed to the client: straight to its Node socket when the server
 * handed one over (no web-stream copy), else as a web Response.
 */
export function relayUpstream(
  sink: ServerResponse | undefined,
  status: number,
  headers: Record<string, string>,
  res: UpstreamResponse,
  head: Buffer[],
  iterator: AsyncIterator<Buffer>,
  tap: RelayTap,
  hooks: RelayHooks,
): Response {
  const src: RelaySource = {
    head,
    iterator,
    close: (abort) => {
      res.finish();
      if (abort) res.body.destroy();
    },
  };
  if (sink) {
    relayToNode(sink, status, headers, src, tap, hooks);
    return RESPONSE_ALREADY_SENT;
  }
  return relayToWeb(status, headers, src, tap, hooks);
}
