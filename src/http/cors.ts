import type { MiddlewareHandler } from "hono";
import { nodeResponse } from "./body.js";
import type { AppEnv } from "./context.js";

/**
 * CORS, answered before authentication (a preflight carries no credentials, so behind the auth
 * middleware every preflight was a 401 and no browser could call the gateway).
 *
 * Two kinds of routes:
 * - Key-authenticated API (inference, models, pass-through, the OpenRouter proxy): callable from any
 *   origin in CORS_ORIGINS (`*` by default). The key travels in `Authorization`, never in a cookie,
 *   so a foreign page gains nothing it did not already hold; no `Allow-Credentials`.
 * - Everything else (cookie sessions, admin, webhooks): only the gateway's own origin (PUBLIC_URL),
 *   with credentials. Other origins get no CORS headers, so browsers refuse to send or read.
 */
export interface CorsSettings {
  /** Origins allowed on the key-authenticated API; "*" = any. */
  apiOrigins: "*" | readonly string[];
  /** The gateway's own origin (from PUBLIC_URL), the only one allowed on cookie routes. */
  ownOrigin: string | null;
}

/** Paths (and their sub-paths) a browser may call with an API key from another origin. */
const API_PATHS = ["/v1/chat", "/v1/completions", "/v1/embeddings", "/v1/models", "/v1/images", "/v1/audio", "/v1/moderations", "/v1/rerank", "/v1/responses", "/api/v1/openrouter"];

export function isKeyApiPath(path: string): boolean {
  return API_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
}

const EXPOSE = "x-request-id, x-router-log-id, x-gateway-provider, x-gateway-model, x-gateway-cache, retry-after, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens";
const API_METHODS = "GET, POST, DELETE, OPTIONS";
const OWN_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/** Header names a preflight may ask for (the openai SDK sends x-stainless-*); anything else is not echoed. */
const HEADER_NAME = /^[a-z0-9-]{1,64}$/;

/** `https://Example.com:443/` → `https://example.com`; null when not an http(s) origin. */
export function normalizeOrigin(raw: string | null | undefined): string | null {
  if (!raw || raw === "null") return null;
  try {
    const u = new URL(raw);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    return u.origin;
  } catch {
    return null;
  }
}

/** CORS_ORIGINS → the allowed list ("*" or normalised origins). */
export function parseCorsOrigins(value: string): "*" | string[] {
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.includes("*")) return "*";
  return parts.map((p) => normalizeOrigin(p)).filter((o): o is string => o !== null);
}

interface Verdict {
  allowOrigin: string;
  credentials: boolean;
  methods: string;
}

function verdict(settings: CorsSettings, path: string, origin: string): Verdict | null {
  const norm = normalizeOrigin(origin);
  if (!norm) return null;
  if (isKeyApiPath(path)) {
    if (settings.apiOrigins === "*") return { allowOrigin: "*", credentials: false, methods: API_METHODS };
    return settings.apiOrigins.includes(norm) ? { allowOrigin: norm, credentials: false, methods: API_METHODS } : null;
  }
  return settings.ownOrigin && norm === settings.ownOrigin ? { allowOrigin: norm, credentials: true, methods: OWN_METHODS } : null;
}

export function cors(settings: CorsSettings): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (!origin) return next();
    const v = verdict(settings, c.req.path, origin);
    const preflight = c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
    if (preflight) {
      const h = new Headers({ vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers" });
      if (v) {
        h.set("access-control-allow-origin", v.allowOrigin);
        h.set("access-control-allow-methods", v.methods);
        const asked = (c.req.header("access-control-request-headers") ?? "")
          .split(",")
          .map((s) => s.trim().toLowerCase())
          .filter((s) => HEADER_NAME.test(s));
        if (asked.length) h.set("access-control-allow-headers", asked.join(", "));
        h.set("access-control-max-age", "600");
        if (v.credentials) h.set("access-control-allow-credentials", "true");
      }
      // Refused origins get the same 204 without allow headers: the browser then blocks the call.
      return new Response(null, { status: 204, headers: h });
    }
    const headers: Record<string, string> = { vary: "Origin" };
    if (v) {
      headers["access-control-allow-origin"] = v.allowOrigin;
      headers["access-control-expose-headers"] = EXPOSE;
      if (v.credentials) headers["access-control-allow-credentials"] = "true";
    }
    // Streams are written straight to Node's response by the proxy: headers set there now are
    // merged into its writeHead; hono responses get them below.
    const out = nodeResponse(c);
    if (out) for (const [k, val] of Object.entries(headers)) out.setHeader(k, val);
    await next();
    if (!out) for (const [k, val] of Object.entries(headers)) c.res.headers.set(k, val);
  };
}
