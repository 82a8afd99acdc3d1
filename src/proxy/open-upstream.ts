import type { Logger } from "../core/logger.js";
import type { OpeningEvent } from "../providers/adapter.js";
import type { ProviderAdapter, ProviderTimeouts, UpstreamRequest } from "../providers/index.js";
import type { AttemptOutcome } from "../routing/fallback.js";
import { classifyError, UpstreamFailure, type UpstreamClient, type UpstreamResponse } from "./upstream.js";
import { dataOf } from "./sse-tap.js";

export interface OpenContext {
  upstream: UpstreamClient;
  logger: Logger;
  requestId: string;
  providerId: string;
  adapter: ProviderAdapter;
  signal: AbortSignal;
  /** Reads a stream's first event when the upstream speaks another API than the adapter's chat (native Responses). */
  opening?: (data: string) => OpeningEvent;
}

/**
 * The one step that opens an upstream call: send, and turn an error answer (or no answer) into the
 * failure the fallback loop classifies. A 2xx comes back unread.
 */
export async function openUpstream(ctx: OpenContext, req: UpstreamRequest | (() => UpstreamRequest), timeouts: ProviderTimeouts): Promise<AttemptOutcome<UpstreamResponse>> {
  let res: UpstreamResponse;
  try {
    res = await ctx.upstream.send(typeof req === "function" ? req() : req, timeouts, ctx.signal);
  } catch (e) {
    if (!(e instanceof UpstreamFailure)) throw e;
    ctx.logger.warn({ requestId: ctx.requestId, provider: ctx.providerId, kind: e.kind }, "upstream attempt failed");
    return { ok: false, failure: { kind: e.kind } };
  }
  if (res.status >= 400) {
    const text = await readText(res).catch(() => "");
    ctx.logger.warn({ requestId: ctx.requestId, provider: ctx.providerId, status: res.status }, "upstream returned an error");
    const mapped = ctx.adapter.mapError(res.status, text);
    const ra = res.headers["retry-after"];
    return { ok: false, failure: { kind: "http", status: mapped.status, body: mapped.body, retryAfter: Array.isArray(ra) ? ra[0] : ra } };
  }
  return { ok: true, value: res };
}

/** An inference answer that can be committed to the client (`native`: a Responses answer from the upstream's own `/responses`). */
export type Committed =
  | { kind: "json"; res: UpstreamResponse; json: Record<string, unknown>; native?: boolean }
  | { kind: "stream"; res: UpstreamResponse; iterator: AsyncIterator<Buffer>; head: Buffer[]; reportedModel: string | null; firstData: string | null; native?: boolean };

/** Chunks held back while waiting for a stream's first data frame (a frame split over many chunks). */
const MAX_HELD_CHUNKS = 32;

/**
 * Reads an inference answer up to the point where it can be committed: a JSON body fully read and
 * parsed, or a stream's first data frame received. Until then any failure falls back.
 */
export async function commitAnswer(ctx: OpenContext, res: UpstreamResponse, stream: boolean): Promise<AttemptOutcome<Committed>> {
  if (!stream) {
    let text: string;
    try {
      text = await readText(res);
    } catch (e) {
      return { ok: false, failure: { kind: classifyError(e).kind } };
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
      if (!json || typeof json !== "object" || Array.isArray(json)) throw new Error("not an object");
    } catch {
      ctx.logger.warn({ requestId: ctx.requestId, provider: ctx.providerId }, "upstream returned a body that is not JSON");
      return { ok: false, failure: { kind: "http", status: 502, body: "" } };
    }
    return { ok: true, value: { kind: "json", res, json } };
  }
  // Hold the stream back until its first data frame: an upstream that dies (or sends an error
  // event) before any data reached us can still fall back to the next route.
  const iterator = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let reportedModel: string | null = null;
  let firstData: string | null = null;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        if (head.length === 0) throw new UpstreamFailure("network", "upstream stream ended before any data");
        break;
      }
      head.push(next.value);
      const frame = firstDataFrame(head);
      if (frame === null && head.length < MAX_HELD_CHUNKS) continue;
      if (frame !== null) {
        const opening = ctx.opening ? ctx.opening(frame) : ctx.adapter.openingEvent(frame);
        if (opening.errorStatus !== null) {
          res.finish();
          res.body.destroy();
          return { ok: false, failure: { kind: "http", status: opening.errorStatus, body: frame } };
        }
        reportedModel = opening.model;
        firstData = frame;
      }
      break;
    }
  } catch (e) {
    res.finish();
    res.body.destroy();
    const f = classifyError(e);
    ctx.logger.warn({ requestId: ctx.requestId, provider: ctx.providerId, kind: f.kind }, "upstream stream failed before its first data");
    return { ok: false, failure: { kind: f.kind } };
  }
  return { ok: true, value: { kind: "stream", res, iterator, head, reportedModel, firstData } };
}

export async function readText(res: UpstreamResponse): Promise<string> {
  try {
    return await res.body.text();
  } catch (e) {
    throw e instanceof UpstreamFailure ? e : new UpstreamFailure("network", "upstream body error", { cause: e });
  } finally {
    res.finish();
  }
}

/** The payload of the first SSE `data:` frame in the held chunks, or null when none is complete yet. */
function firstDataFrame(chunks: Buffer[]): string | null {
  let rest = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8");
  for (;;) {
    const m = /\r?\n\r?\n/.exec(rest);
    if (!m) return null;
    const data = dataOf(rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
    if (data !== null) return data;
  }
}
