import type { AppDeps } from "../deps.js";
import { createRouter } from "../router.js";

const VERSION = "0.1.0";

/** `/`, `/health`, `/metrics`: no authentication, no secrets. */
export function createSystemRoutes(deps: AppDeps) {
  const app = createRouter();
  app.get("/", (c) =>
    c.json({
      service: "llm-gateway",
      version: VERSION,
      mode: deps.config.demo ? "demo" : "normal",
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
    }),
  );
  app.get("/health", async (c) => {
    const components = await deps.health.run();
    const statuses = Object.values(components).map((x) => x.status);
    const status = statuses.includes("down") ? (components.database?.status === "down" ? "down" : "degraded") : statuses.includes("degraded") ? "degraded" : "ok";
    return c.json(
      {
        status,
        mode: deps.config.demo ? "demo" : "normal",
        ...(deps.config.demo ? { warning: "DEMO MODE: no upstream is configured; the built-in mock provider answers every request" } : {}),
        version: VERSION,
        components,
      },
      status === "down" ? 503 : 200,
    );
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get("/metrics", async (c) => c.text(await metrics.render(), 200, { "content-type": metrics.contentType }));
  }
  return app;
}
