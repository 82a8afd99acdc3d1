import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { newRequestId } from "../core/ids.js";
import { clientAddress, IpAllowlist, normalizeIp } from "../core/ip.js";
import type { InferenceEndpoint } from "../proxy/service.js";
import { assertDeclaredLength, readNodeJsonObject, responseGoneSignal } from "./body.js";
import type { AppDeps } from "./deps.js";
import { errorReply } from "./errors.js";
import { checkedInferenceBody } from "./inference-entry.js";
import { authenticateBearer, bearerSecret } from "./middleware/api-key-auth.js";
import { leaveRefusalTrail } from "./middleware/refusal-trail.js";
import { recordRequest } from "./middleware/request-context.js";
import { openRouterPath } from "./openrouter-paths.js";

/**
 * A plain `node:http` front for the hot inference routes, ahead of Hono. Hono's chain (request
 * context → CORS → body limit → refusal trail → API-key auth → inferenceEntry) is, for a plain API
 * call, a fixed sequence: this runs the same steps in one function, through the same functions
 * (key check, refusal trail, body read and checks, metrics, the one error writer), and calls the
 * same `deps.proxy.handle` — one pipeline, with the framework's per-request objects (web Request,
 * Context, matched-route arrays, middleware closures) left out.
 *
 * It takes only requests whose path through Hono is certain: POST to chat/completions, completions
 * or embeddings (also under OpenRouter's `/api/v1`) with a declared Content-Length, no query string,
 * and none of what makes Hono's chain branch — `Origin` (CORS headers), DID headers, a cookie or a
 * JWT-shaped Bearer (dashboard sessions; alternatives are tried only when no API key is sent).
 * Everything else goes to Hono unchanged. INFERENCE_FRONT=false sends everything to Hono.
 */
export interface InferenceFront {
  listener: RequestListener;
  /** Requests this front served itself (tests assert it took them). */
  readonly stats: { handled: number };
}

const ENDPOINTS: Record<string, InferenceEndpoint> = {
  "/v1/chat/completions": "chat.completions",
  "/v1/completions": "completions",
  "/v1/embeddings": "embeddings",
};

/**
 * The route label Hono's metrics give each stage (`c.req.routePath` is the pattern of the middleware
 * or handler that was running when the request ended): kept so dashboards see one series either way.
 */
const LABELS: Record<InferenceEndpoint, { limit: string; auth: string; handler: string }> = {
  "chat.completions": { limit: "/*", auth: "/v1/chat/*", handler: "/v1/chat/completions" },
  completions: { limit: "/*", auth: "/v1/completions", handler: "/v1/completions" },
  embeddings: { limit: "/*", auth: "/v1/embeddings", handler: "/v1/embeddings" },
};

const JWT_BEARER = /^Bearer\s+[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\s*$/i;

/** What the front takes; null = Hono's. */
function frontEndpoint(req: IncomingMessage): InferenceEndpoint | null {
  if (req.method !== "POST") return null;
  const endpoint = ENDPOINTS[openRouterPath(req.url ?? "")];
  if (!endpoint) return null;
  const h = req.headers;
  if (h["content-length"] === undefined || h.origin !== undefined || h.cookie !== undefined || h["x-did"] !== undefined) return null;
  if (h.authorization !== undefined && JWT_BEARER.test(h.authorization)) return null;
  return endpoint;
}

export function createInferenceFront(deps: AppDeps, hono: RequestListener): InferenceFront {
  const stats = { handled: 0 };
  const trusted = deps.settings.trustedProxies.length ? new IpAllowlist(deps.settings.trustedProxies) : null;
  const listener: RequestListener = (req, res) => {
    const endpoint = frontEndpoint(req);
    if (!endpoint) return hono(req, res);
    stats.handled++;
    void serveInference(deps, trusted, endpoint, req, res);
  };
  return { listener, stats };
}

async function serveInference(deps: AppDeps, trusted: IpAllowlist | null, endpoint: InferenceEndpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = newRequestId();
  const startedAt = deps.clock.now();
  const h = req.headers;
  const peer = req.socket.remoteAddress;
  const ip = () => {
    const p = peer ? normalizeIp(peer) : null;
    return trusted ? clientAddress(p, headerValue(h["x-forwarded-for"]), trusted) : p;
  };
  const labels = LABELS[endpoint];
  let stage: keyof typeof labels = "limit";
  let owner: { keyId: string; accountId: string } | undefined;
  let error: unknown;
  deps.inflight.count++;
  try {
    assertDeclaredLength(h["content-length"], deps.settings.maxBodyBytes);
    stage = "auth";
    try {
      const auth = await authenticateBearer(deps, h.authorization, bearerSecret(h.authorization), "inference", ip, (o) => (owner = o));
      owner = auth;
      stage = "handler";
      const body = checkedInferenceBody(endpoint, await readNodeJsonObject(req, deps.settings.maxBodyBytes, { maxDepth: deps.settings.maxJsonDepth }));
      const answer = await deps.proxy.handle({
        requestId,
        auth,
        endpoint,
        body,
        signal: responseGoneSignal(res),
        startedAt,
        cacheControl: headerValue(h["x-gateway-cache"]),
        sink: res,
      });
      await writeAnswer(res, answer);
    } catch (e) {
      leaveRefusalTrail(deps, e, { owner, requestId, path: openRouterPath(req.url ?? ""), startedAt, logger: deps.logger, ip });
      throw e;
    }
  } catch (e) {
    error = e;
    writeError(req, res, e, requestId, deps);
  } finally {
    deps.inflight.count--;
    recordRequest(deps, { requestId, route: () => labels[stage], method: "POST", status: res.statusCode, error, startedAt });
  }
}

function headerValue(v: string | string[] | undefined): string | null {
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
}

/** An answer the proxy did not write itself (cache hits): status, headers and body as Hono's adapter would send them. */
async function writeAnswer(res: ServerResponse, answer: Response): Promise<void> {
  if (answer === RESPONSE_ALREADY_SENT) return;
  const headers: Record<string, string> = {};
  answer.headers.forEach((v, k) => (headers[k] = v));
  const body = answer.body ? Buffer.from(await answer.arrayBuffer()) : null;
  if (body && headers["content-length"] === undefined) headers["content-length"] = String(body.length);
  res.writeHead(answer.status, headers);
  res.end(body ?? undefined);
}

function writeError(req: IncomingMessage, res: ServerResponse, e: unknown, requestId: string, deps: AppDeps): void {
  const r = errorReply(e, requestId, deps.logger);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(r.status, { ...r.headers, "content-length": String(Buffer.byteLength(r.body)) });
  res.end(r.body);
  if (!req.readableEnded) res.once("finish", () => discardBody(req));
}

/**
 * A body left unread (refused before it was read, or too large): read and dropped so the connection
 * can be reused, but at most 64 MiB or half a second, then the socket is closed (as Hono's adapter does).
 */
function discardBody(req: IncomingMessage): void {
  if (req.readableEnded || req.destroyed) return;
  let read = 0;
  const close = () => {
    clearTimeout(timer);
    req.socket?.destroySoon();
  };
  const timer = setTimeout(close, 500);
  timer.unref();
  req.on("data", (chunk: Buffer) => {
    read += chunk.length;
    if (read > 64 * 1024 * 1024) close();
  });
  req.once("end", () => clearTimeout(timer));
  req.resume();
}
