import { bodyLimitGuard } from "./body.js";
import type { AppEnv } from "./context.js";
import type { AppDeps } from "./deps.js";
import { notFound, onError } from "./errors.js";
import { adminAuth } from "./middleware/admin-auth.js";
import { apiKeyAuth } from "./middleware/api-key-auth.js";
import { sessionPlaygroundAuthenticator } from "./middleware/browser-session.js";
import { didAuthenticator } from "./middleware/did-auth.js";
import { requestContext } from "./middleware/request-context.js";
import { createRouter } from "./router.js";
import { createAdminBillingRoutes } from "./routes/admin-billing.js";
import { createAdminConsoleRoutes } from "./routes/admin-console.js";
import { createAdminSessionRoutes } from "./routes/admin-session.js";
import { createAdminSpineRoutes } from "./routes/admin-spine.js";
import { createAuthRoutes } from "./routes/auth.js";
import { createApiKeyManageRoutes } from "./routes/api-keys-manage.js";
import { createAdminAccountRoutes } from "./routes/admin-accounts.js";
import { createClientUsageRoutes } from "./routes/client-usage.js";
import { createOpenAIRoutes } from "./routes/openai.js";
import { createAdminRoutingRoutes } from "./routes/admin-routing.js";
import { createPassthroughRoutes } from "./routes/passthrough.js";
import { createRateLimitRoutes } from "./routes/rate-limit.js";
import { createSystemRoutes } from "./routes/system.js";
import { createTelegramRoutes } from "./routes/telegram.js";
import { createPaymentsRoutes } from "./routes/payments.js";
import { createAccountSettingsRoutes } from "./routes/account-settings.js";
import { createClientAccountRoutes } from "./routes/client-account.js";
import { createWebApiRoutes } from "./routes/web-api.js";
import { createWebAppRoutes } from "./routes/web-app.js";
import { createAdminPaymentsRoutes } from "./routes/admin-payments.js";

export type { AppEnv };

/**
 * The HTTP application. Order matters: request context → body limit → authentication (before any
 * body is parsed) → route validation → handler. Errors of every kind leave through `onError`.
 */
export function createApp(deps: AppDeps) {
  const app = createRouter();
  app.use("*", requestContext(deps));
  app.use("*", bodyLimitGuard(deps.env.MAX_BODY_BYTES));

  // Bearer key, or (seed 004) a DID-signed request that yields the same AuthContext.
  const inference = apiKeyAuth(deps, { scope: "inference", alternatives: [didAuthenticator(deps, "inference")] });
  // The dashboard's playground: a session calls chat through its own playground key.
  app.use("/v1/chat/*", apiKeyAuth(deps, { scope: "inference", alternatives: [didAuthenticator(deps, "inference"), sessionPlaygroundAuthenticator(deps)] }));
  app.use("/v1/completions", inference);
  app.use("/v1/embeddings", inference);
  app.use("/v1/models", inference);
  app.use("/v1/models/*", inference);

  const admin = adminAuth(deps);
  app.use("/admin/*", admin);
  app.use("/v1/key/generate", admin);

  app.route("/", createSystemRoutes(deps));
  app.route("/", createOpenAIRoutes(deps));
  app.route("/", createAdminSpineRoutes(deps));
  // --- area routes --- (each area mounts its router here, one line each)
  app.route("/", createRateLimitRoutes(deps));
  app.route("/", createAdminRoutingRoutes(deps));
  app.route("/", createPassthroughRoutes(deps));
  app.route("/", createClientUsageRoutes(deps));
  app.route("/", createAdminBillingRoutes(deps));
  app.route("/", createTelegramRoutes(deps));
  app.route("/", createPaymentsRoutes(deps));
  app.route("/", createAdminPaymentsRoutes(deps));
  app.route("/", createAuthRoutes(deps));
  app.route("/", createApiKeyManageRoutes(deps));
  app.route("/", createAdminAccountRoutes(deps));
  app.route("/", createAdminConsoleRoutes(deps));
  app.route("/", createAdminSessionRoutes(deps));
  app.route("/", createWebAppRoutes());
  app.route("/", createWebApiRoutes(deps));
  app.route("/", createClientAccountRoutes(deps));
  app.route("/", createAccountSettingsRoutes(deps));
  // --- end area routes ---

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", description: "API key `sk-gw-…`" });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "LLM Gateway API", version: "0.1.0", description: "OpenAI-compatible LLM gateway with prepaid billing. Errors are `{error:{message,type,code,param,request_id}}`." },
  });
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
