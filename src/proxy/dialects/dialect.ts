import type { TokenUsage } from "../../contracts/request.js";
import type { AppError } from "../../core/errors.js";

/**
 * A client-facing API other than OpenAI chat (Anthropic Messages, OpenAI Responses). The pipeline
 * speaks OpenAI chat inside: a dialect turns the client's body into a chat body on the way in and
 * the chat answer (JSON, or the stream of chat chunks) into its own shape on the way out, so
 * holds, routing, fallback, metering, billing and the log row are the chat path's, unchanged.
 * Pure translation: no I/O.
 */
export interface InboundDialect {
  /** What the request log row names as the endpoint. */
  readonly endpoint: "messages" | "responses";
  /** The client's body → an OpenAI chat body (throws a 4xx AppError on what can't be served). */
  toChat(body: Record<string, unknown>): Record<string, unknown>;
  /**
   * When `toChat` refused what chat can't carry (`unsupported_parameter`) but an upstream speaking
   * this API natively could serve it: a chat body for the holds and counts only (throws what no
   * route may serve). Absent: the refusal stands.
   */
  untranslatable?(body: Record<string, unknown>): Record<string, unknown>;
  /** A chat completion (usage as billed) → the client's answer. `model` is the name the client asked for. */
  response(chat: Record<string, unknown>, ctx: DialectContext): Record<string, unknown>;
  /** One stream's translator (stateful). */
  stream(ctx: DialectContext): DialectStream;
  /** An error answer's body in the dialect's shape (the HTTP status stays the error table's); absent = OpenAI's. */
  errorBody?(err: AppError, requestId: string | null): unknown;
}

export interface DialectContext {
  /** The model the client named. */
  model: string;
  /** The gateway's request id (answers' ids are derived from it). */
  requestId: string;
  /** Seconds since the epoch (the request's start). */
  createdAt: number;
  /** Seconds since the epoch, now. */
  now(): number;
  /** The client's original body (echoed by dialects whose answer repeats the request). */
  body: Record<string, unknown>;
}

/** Chat chunks in, the dialect's SSE text out. */
export interface DialectStream {
  /** One parsed chat chunk (a usage-only chunk included) → SSE frames to send (may be ""). */
  chunk(c: ChatChunk): string;
  /** The upstream ended: the closing frames. `usage` is the reported usage, or the local estimate when none came. */
  end(usage: TokenUsage): string;
  /** A failure after the stream began, as the dialect's in-band error event. */
  error(err: AppError, requestId: string): string;
}

export interface ChatChunk {
  id?: string;
  model?: string;
  choices?: Array<{
    index?: number;
    delta?: {
      role?: string;
      content?: string | null;
      reasoning?: string | null;
      reasoning_content?: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ index?: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: string | null;
  }>;
  usage?: Record<string, unknown> | null;
}

/** One SSE frame with a named event (both dialects name theirs). */
export function sseEvent(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Cache-read and cache-write token counts of a chat usage object, however the upstream named them. */
export function cacheTokens(u: Record<string, unknown> | null | undefined): { read: number; write: number } {
  const details = (u?.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
  return {
    read: num(details.cached_tokens ?? u?.cache_read_input_tokens),
    write: num(details.cache_write_tokens ?? details.cache_creation_tokens ?? u?.cache_creation_input_tokens),
  };
}

/** The context of one request's answer (times in ms, as the gateway's clock gives them). */
export function dialectContext(requestId: string, startedAtMs: number, clientBody: Record<string, unknown>, nowMs: () => number): DialectContext {
  const model = typeof clientBody.model === "string" ? clientBody.model : "";
  return { model, requestId, createdAt: Math.floor(startedAtMs / 1000), now: () => Math.floor(nowMs() / 1000), body: clientBody };
}
