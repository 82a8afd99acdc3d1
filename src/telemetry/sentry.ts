import { randomUUID } from "node:crypto";
import type { Logger } from "../core/logger.js";
import { secrets } from "../core/secret-scrubber.js";
import { BatchSender } from "./batch-sender.js";

export interface ErrorContext {
  requestId?: string;
  route?: string;
  method?: string;
}

interface Frame {
  filename: string;
  function: string;
  lineno?: number;
  colno?: number;
  in_app: boolean;
}

/** `at fn (file:line:col)` lines → Sentry frames, oldest call first as Sentry expects. */
function framesOf(stack: string | undefined): Frame[] {
  const frames: Frame[] = [];
  for (const line of (stack ?? "").split("\n").slice(1)) {
    const m = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (!m) continue;
    const file = m[2]!;
    frames.push({ function: m[1] ?? "<anonymous>", filename: file, lineno: Number(m[3]), colno: Number(m[4]), in_app: !file.includes("node_modules") && !file.startsWith("node:") });
  }
  return frames.reverse();
}

/**
 * Unexpected errors (the 500s) to Sentry through its envelope endpoint (POST
 * <host>/api/<project>/envelope/ with the DSN's public key). Messages and stacks go through the
 * secret scrubber; no request body, header or key is ever attached.
 */
export class SentryReporter {
  private readonly sender: BatchSender<string>;
  private readonly dsn: string;

  constructor(opts: { dsn: string; environment: string; logger: Logger }) {
    const u = new URL(opts.dsn);
    const project = u.pathname.replace(/^\/+|\/+$/g, "");
    const url = `${u.protocol}//${u.host}/api/${project}/envelope/`;
    const auth = `Sentry sentry_version=7, sentry_key=${u.username}, sentry_client=llm-gateway/0.1.0`;
    this.dsn = opts.dsn;
    this.environment = opts.environment;
    // One envelope per event, sent together (Sentry takes one event per envelope).
    this.sender = new BatchSender(
      "sentry",
      async (envelopes) => {
        let last: Response | null = null;
        for (const body of envelopes) last = await fetch(url, { method: "POST", headers: { "content-type": "application/x-sentry-envelope", "x-sentry-auth": auth }, body });
        return last!;
      },
      opts.logger,
      { intervalMs: 500, maxBatch: 20, maxQueued: 1000 },
    );
  }
  private readonly environment: string;

  capture(err: unknown, ctx: ErrorContext = {}): void {
    const e = err instanceof Error ? err : new Error(String(err));
    const eventId = randomUUID().replace(/-/g, "");
    const event = {
      event_id: eventId,
      timestamp: Date.now() / 1000,
      platform: "node",
      level: "error",
      environment: this.environment,
      release: "llm-gateway@0.1.0",
      server_name: undefined,
      tags: { ...(ctx.route ? { route: ctx.route } : {}), ...(ctx.method ? { method: ctx.method } : {}), ...(ctx.requestId ? { request_id: ctx.requestId } : {}) },
      exception: { values: [{ type: e.name, value: secrets.scrub(e.message), stacktrace: { frames: framesOf(secrets.scrub(e.stack ?? "")) } }] },
    };
    const header = { event_id: eventId, sent_at: new Date().toISOString(), dsn: this.dsn };
    this.sender.push(`${JSON.stringify(header)}\n${JSON.stringify({ type: "event" })}\n${JSON.stringify(event)}\n`);
  }

  flush(): Promise<void> {
    return this.sender.flush();
  }
}
