import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Context } from "hono";
import { createRouter } from "../router.js";

/** Where the web app lives under this origin; the YooKassa return URL and the bot's texts point here. */
export const WEB_APP_BASE = "/dashboard";

/** `web/dist`, built by `npm install` (postinstall) or `npm run build:web`. */
const DEFAULT_DIST = fileURLToPath(new URL("../../../web/dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

// The app never needs another origin: scripts, styles and API calls are all same-origin.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/**
 * The login and sign-up documents alone may load Telegram's Login Widget script, which opens its
 * authorization window from oauth.telegram.org and asks that origin whether the user confirmed. No
 * 'unsafe-eval' or inline script: the page calls the widget's JS API with a function of its own.
 */
const AUTH_PAGES = new Set(["login", "signup"]);
const CSP_TELEGRAM_LOGIN =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' https://telegram.org; connect-src 'self' https://oauth.telegram.org; frame-src https://oauth.telegram.org; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Web app not built</title></head>
<body><main><h1>The web app is not built</h1><p>Run <code>npm run build:web</code> (or <code>npm install</code>) in the gateway's folder, then reload.</p></main></body></html>`;

/**
 * Serves the built single-page app from the gateway's own process and port: hashed assets with a
 * long cache, every other path under the base gets index.html (deep links survive a reload).
 */
export function createWebAppRoutes(opts: { distDir?: string; telegramWidget?: boolean } = {}) {
  const dist = opts.distDir ?? DEFAULT_DIST;
  const app = createRouter();

  async function file(rel: string): Promise<Buffer | null> {
    const full = normalize(join(dist, rel));
    if (!full.startsWith(normalize(dist.endsWith(sep) ? dist : dist + sep))) return null;
    try {
      const s = await stat(full);
      if (!s.isFile()) return null;
      return await readFile(full);
    } catch {
      return null;
    }
  }

  async function serve(c: Context) {
    const path = decodeURIComponent(new URL(c.req.url).pathname).slice(WEB_APP_BASE.length).replace(/^\/+/, "");
    const csp = opts.telegramWidget && AUTH_PAGES.has(path.replace(/\/+$/, "")) ? CSP_TELEGRAM_LOGIN : CSP;
    const security = { "content-security-policy": csp, "x-content-type-options": "nosniff", "referrer-policy": "same-origin" };
    if (path && extname(path)) {
      const body = await file(path);
      if (body) {
        const immutable = path.startsWith("assets/");
        return c.body(new Uint8Array(body), 200, {
          "content-type": TYPES[extname(path)] ?? "application/octet-stream",
          "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
          ...security,
        });
      }
      // A missing asset is a real 404, not the app shell (a stale tab asking for an old bundle).
      if (path.startsWith("assets/")) return c.text("Not found", 404);
    }
    const index = await file("index.html");
    if (!index) return c.html(NOT_BUILT, 503);
    return c.body(new Uint8Array(index), 200, { "content-type": TYPES[".html"]!, "cache-control": "no-cache", ...security });
  }

  app.get(WEB_APP_BASE, serve);
  app.get(`${WEB_APP_BASE}/*`, serve);
  return app;
}
