import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.js";
import { operationIdOf } from "./define-routes.js";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
}

/**
 * Serves `/openapi.json`: the registry's document plus what a linter (Redocly) and SDK generators
 * expect of every operation. Routes registered through defineRoutes already carry their
 * operationId, tag and security; this fills the same defaults for any route described without it,
 * so the document stays complete while a route waits to be moved to defineRoutes.
 */
export function serveOpenApiDocument(app: OpenAPIHono<AppEnv>, opts: { version: string; publicUrl: string | null }): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "API key `sk-gw-…`, a session access token, or a key with the `manage` scope (per route)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "ADMIN_TOKEN, or an admin user's session",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "anthropicApiKey", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "The API key `sk-gw-…` as Anthropic's clients send it (Anthropic Messages routes)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "didSignature", {
    type: "apiKey",
    in: "header",
    name: "x-did",
    description: "A DID-signed request: `x-did` (did:key, Ed25519), `x-did-timestamp` and `x-did-signature` over method, path, timestamp and body",
  });
  let cached: unknown = null;
  app.get("/openapi.json", (c) => {
    cached ??= finish(
      app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "LLM Gateway API",
          version: opts.version,
          license: { name: "MIT", url: "https://opensource.org/licenses/MIT" },
          description:
            "OpenAI-compatible LLM gateway with prepaid billing. Errors are `{error:{message,type,code,param,request_id}}`. Every `/v1/…` path is also served as `/api/v1/…` (OpenRouter's base path: a client moving from OpenRouter changes only the host and the key).",
        },
        servers: [{ url: opts.publicUrl ?? "/", description: opts.publicUrl ? "This gateway" : "The gateway serving this document" }],
      }),
    );
    return c.json(cached as Record<string, unknown>);
  });
}

function finish<T extends { paths?: object }>(doc: T): T {
  for (const [path, item] of Object.entries(doc.paths ?? {}) as Array<[string, Partial<Record<(typeof METHODS)[number], Operation>>]>) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      op.operationId ??= operationIdOf(method, path);
      op.tags ??= ["Other"];
      op.security ??= [];
    }
  }
  return doc;
}
