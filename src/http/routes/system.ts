import { z } from "@hono/zod-openapi";
import { defineRoutes, route } from "../define-routes.js";
import type { AppDeps } from "../deps.js";
import { json, SECURITY } from "../openapi.js";
import { createRouter } from "../router.js";

const VERSION = "0.1.0";

const Mode = z.enum(["demo", "normal"]);

const ServiceInfo = z
  .object({
    service: z.literal("llm-gateway"),
    version: z.string(),
    mode: Mode,
    openai_base_url: z.string(),
    links: z.record(z.string(), z.string().nullable()),
  })
  .openapi("ServiceInfo");

const ComponentHealth = z
  .looseObject({ status: z.enum(["ok", "degraded", "down"]) })
  .openapi("ComponentHealth", { description: "One component's state; components add their own fields (latency_ms, url, …)" });

const Health = z
  .object({
    status: z.enum(["ok", "degraded", "down"]),
    mode: Mode,
    warning: z.string().optional(),
    version: z.string(),
    components: z.record(z.string(), ComponentHealth),
  })
  .openapi("Health");

/** `/`, `/health`, `/metrics`: no authentication, no secrets. */
export function createSystemRoutes(deps: AppDeps) {
  const app = createRouter();
  defineRoutes(app, { tag: "System", security: SECURITY.public }, [
    route({ method: "get", path: "/", summary: "What this service is and where to start", responses: { 200: json(ServiceInfo, "Service information") } }, (c) =>
      c.json(
        {
          service: "llm-gateway" as const,
          version: VERSION,
          mode: deps.config.demo ? ("demo" as const) : ("normal" as const),
          openai_base_url: "/v1",
          links: {
            health: "/health",
            openapi: "/openapi.json",
            docs: "/docs",
            redoc: "/redoc",
            models: "/v1/models",
            chat_completions: "/v1/chat/completions",
            completions: "/v1/completions",
            embeddings: "/v1/embeddings",
            metrics: deps.metrics ? "/metrics" : null,
          },
        },
        200,
      ),
    ),
    // `/v1/health` and `/api/v1/health`: the paths the first API design and OpenRouter-style clients probe.
    ...["/health", "/v1/health", "/api/v1/health"].map((path) =>
    route(
      {
        method: "get",
        path,
        summary: "Health of the gateway and each component (database, Redis, rate limits, routing, providers)",
        responses: { 200: json(Health, "Up (status ok or degraded)"), 503: json(Health, "Down: the database does not answer") },
      },
      async (c) => {
        const components = await deps.health.run();
        const statuses = Object.values(components).map((x) => x.status);
        const status = statuses.includes("down") ? (components.database?.status === "down" ? "down" : "degraded") : statuses.includes("degraded") ? "degraded" : "ok";
        const bodyOf = {
          status,
          mode: deps.config.demo ? ("demo" as const) : ("normal" as const),
          ...(deps.config.demo ? { warning: "DEMO MODE: no upstream is configured; the built-in mock provider answers every request" } : {}),
          version: VERSION,
          components,
        } as const;
        return status === "down" ? c.json(bodyOf, 503) : c.json(bodyOf, 200);
      },
    )),
  ]);
  if (deps.metrics) {
    const metrics = deps.metrics;
    defineRoutes(app, { tag: "System", security: SECURITY.public }, [
      route(
        {
          method: "get",
          path: "/metrics",
          summary: "Prometheus metrics (text exposition format)",
          responses: { 200: { description: "Metrics", content: { "text/plain": { schema: z.string() } } } },
        },
        // In multi-process mode this is the whole box's (src/metrics/cluster.ts).
        async (c) => c.text(await metrics.render(), 200, { "content-type": metrics.contentType }),
      ),
    ]);
  }
  return app;
}
