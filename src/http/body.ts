import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../core/errors.js";
import { parseClientJson, type JsonLimits } from "./body-limits.js";
import type { AppEnv } from "./context.js";

interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

function tooLarge(max: number): AppError {
  return new AppError("payload_too_large", `Request body is larger than ${max} bytes`);
}

/**
 * Body-size guard for every route. A declared Content-Length is checked from the header alone;
 * only bodies without one (chunked) go through hono's streaming limiter, which would otherwise
 * force a web Request to be built for every request.
 */
export function bodyLimitGuard(maxBytes: number): MiddlewareHandler<AppEnv> {
  const streaming = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge(maxBytes);
    },
  });
  return async (c, next) => {
    const len = c.req.header("content-length");
    if (len !== undefined) {
      assertDeclaredLength(len, maxBytes);
      return next();
    }
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    return streaming(c, next);
  };
}

/**
 * Reads and parses a JSON object body straight from Node's request stream (no web Request), with
 * the size limit enforced while reading. Falls back to the web body outside @hono/node-server.
 */
export async function readJsonObject(c: Context<AppEnv>, maxBytes: number, limits: JsonLimits = { maxDepth: 64 }): Promise<Record<string, unknown>> {
  const incoming = (c.env as NodeBindings | undefined)?.incoming;
  if (incoming && !incoming.readableEnded && typeof incoming.on === "function") return readNodeJsonObject(incoming, maxBytes, limits);
  const text = await c.req.text();
  if (Buffer.byteLength(text) > maxBytes) throw tooLarge(maxBytes);
  return jsonObject(text, limits);
}

/** The same read from Node's request stream, for the inference front and the Hono path alike. */
export async function readNodeJsonObject(incoming: IncomingMessage, maxBytes: number, limits: JsonLimits): Promise<Record<string, unknown>> {
  const text = await new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    incoming.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        incoming.removeAllListeners("data");
        incoming.resume();
        reject(tooLarge(maxBytes));
        return;
      }
      parts.push(chunk);
    });
    incoming.once("end", () => resolve(parts.length === 1 ? parts[0]!.toString("utf8") : Buffer.concat(parts).toString("utf8")));
    incoming.once("error", reject);
  });
  return jsonObject(text, limits);
}

function jsonObject(text: string, limits: JsonLimits): Record<string, unknown> {
  const v = parseClientJson(text, limits);
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new AppError("invalid_request", "The request body must be a JSON object");
  return v as Record<string, unknown>;
}

/** The size check of a declared Content-Length (bodies without one are limited while read). */
export function assertDeclaredLength(contentLength: string | undefined, maxBytes: number): void {
  if (contentLength !== undefined && Number(contentLength) > maxBytes) throw tooLarge(maxBytes);
}

/**
 * An AbortSignal that fires when the client goes away before the response has finished. Uses the
 * Node response's `close` event: hono's `c.req.raw.signal` builds a web Request per request.
 */
export function clientGoneSignal(c: Context<AppEnv>): AbortSignal {
  const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
  if (!outgoing || typeof outgoing.once !== "function") return c.req.raw.signal;
  return responseGoneSignal(outgoing);
}

/** The same signal from Node's response object itself. */
export function responseGoneSignal(outgoing: ServerResponse): AbortSignal {
  const ctrl = new AbortController();
  outgoing.once("close", () => {
    if (!outgoing.writableFinished) ctrl.abort();
  });
  return ctrl.signal;
}

/** Node's response object when running under @hono/node-server (undefined elsewhere, e.g. app.request in tests). */
export function nodeResponse(c: Context<AppEnv>): ServerResponse | undefined {
  const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
  return outgoing && typeof outgoing.writeHead === "function" ? outgoing : undefined;
}
