import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createRouter } from "../router.js";

/**
 * `/docs` (Swagger UI) and `/redoc` (ReDoc) over `/openapi.json`. Both bundles come from npm packages
 * and are served by the gateway itself, so the reference works on a box with no internet access and
 * the page never loads code from a CDN. The pages' CSP allows only this origin, which also makes
 * any accidental external load fail loudly in the browser test.
 */
const require = createRequire(import.meta.url);

interface Asset {
  file: string;
  type: string;
}

function assets(): Record<string, Asset> {
  const swagger = dirname(require.resolve("swagger-ui-dist"));
  const redoc = dirname(require.resolve("redoc"));
  return {
    "/docs/assets/swagger-ui.css": { file: join(swagger, "swagger-ui.css"), type: "text/css; charset=utf-8" },
    "/docs/assets/swagger-ui-bundle.js": { file: join(swagger, "swagger-ui-bundle.js"), type: "text/javascript; charset=utf-8" },
    "/docs/assets/favicon-32x32.png": { file: join(swagger, "favicon-32x32.png"), type: "image/png" },
    "/redoc/assets/redoc.standalone.js": { file: join(redoc, "redoc.standalone.js"), type: "text/javascript; charset=utf-8" },
  };
}

// Page scripts are files, not inline, so the CSP needs no 'unsafe-inline' for scripts.
const SWAGGER_INIT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: "none", tryItOutEnabled: false, persistAuthorization: false });\n`;
const REDOC_INIT = `Redoc.init("/openapi.json", { hideDownloadButton: false, expandResponses: "200,201" }, document.getElementById("redoc"));\n`;

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Both UIs set inline styles from script; ReDoc builds its search worker from a blob.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join("; ");

function page(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
${head}
</head>
<body style="margin:0">
${body}
</body>
</html>
`;
}

const SWAGGER_PAGE = page(
  "LLM Gateway API — Swagger UI",
  `<link rel="stylesheet" href="/docs/assets/swagger-ui.css">`,
  `<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>`,
);

const REDOC_PAGE = page(
  "LLM Gateway API — ReDoc",
  "",
  `<div id="redoc"></div>
<script src="/redoc/assets/redoc.standalone.js"></script>
<script src="/redoc/assets/init.js"></script>`,
);

export function createApiDocsRoutes() {
  const app = createRouter();
  const files = assets();
  // Read on first use: most processes never serve the docs, and the bundles are megabytes.
  const cache = new Map<string, Buffer>();
  const html = { "content-type": "text/html; charset=utf-8", "content-security-policy": CSP, "cache-control": "no-cache" };
  const js = { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" };

  app.get("/docs", (c) => c.body(SWAGGER_PAGE, 200, html));
  app.get("/docs/", (c) => c.redirect("/docs", 301));
  app.get("/redoc", (c) => c.body(REDOC_PAGE, 200, html));
  app.get("/redoc/", (c) => c.redirect("/redoc", 301));
  app.get("/docs/assets/init.js", (c) => c.body(SWAGGER_INIT, 200, js));
  app.get("/redoc/assets/init.js", (c) => c.body(REDOC_INIT, 200, js));
  for (const [path, asset] of Object.entries(files)) {
    app.get(path, (c) => {
      let buf = cache.get(path);
      if (!buf) {
        buf = readFileSync(asset.file);
        cache.set(path, buf);
      }
      // The bundle's version is pinned in package.json, so a day of caching is safe across restarts.
      return c.body(new Uint8Array(buf), 200, { "content-type": asset.type, "cache-control": "public, max-age=86400" });
    });
  }
  return app;
}
