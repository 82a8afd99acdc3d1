import { bodyLimitGuard } from "./body.js";
import type { AppEnv } from "./context.js";
import type { AppDeps } from "./deps.js";
import { notFound, onError } from "./errors.js";
import { adminAuth } from "./middleware/admin-auth.js";
import { apiKeyAuth } from "./middleware/api-key-auth.js";
import { sessionPlaygroundAuthenticator } from "./middleware/browser-session.js";
import { didAuthenticator } from "./middleware/did-auth.js";
import { refusalTrail } from "./middleware/refusal-trail.js";
import { requestContext } from "./middleware/request-context.js";
import { serveOpenApiDocument } from "./openapi-document.js";
import { createRouter } from "./router.js";
import { createAdminBillingRoutes } from "./routes/admin-billing.js";
import { createAdminConsoleRoutes } from "./routes/admin-console.js";
import { createAdminSessionRoutes } from "./routes/admin-session.js";
import { createAdminSpineRoutes } from "./routes/admin-spine.js";
import { createAuthEmailRoutes } from "./routes/auth-email.js";
import { createAdminMarginRoutes } from "./routes/admin-margin.js";
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
import { createApiDocsRoutes } from "./routes/api-docs.js";

export type { AppEnv };

/**
 * The HTTP application. Order matters: request context → body limit → authentication (before any
 * body is parsed) → route validation → handler. Errors of every kind leave through `onError`.
 */
export function createApp(deps: AppDeps) {
  const app = createRouter();
  app.use("*", requestContext(deps));
  app.use("*", bodyLimitGuard(deps.settings.maxBodyBytes));

  // Before authentication, so it sees refusals by the key check as well as by limits and balance.
  for (const p of ["/v1/chat/*", "/v1/completions", "/v1/embeddings"]) app.use(p, refusalTrail(deps));
  // Bearer key, or a DID-signed request that yields the same AuthContext.
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
  app.route("/", createRateLimitRoutes(deps));
  app.route("/", createAdminRoutingRoutes(deps));
  app.route("/", createPassthroughRoutes(deps));
  app.route("/", createClientUsageRoutes(deps));
  app.route("/", createAdminBillingRoutes(deps));
  app.route("/", createTelegramRoutes(deps));
  app.route("/", createPaymentsRoutes(deps));
  app.route("/", createAdminPaymentsRoutes(deps));
  app.route("/", createAuthRoutes(deps));
  app.route("/", createAuthEmailRoutes(deps));
  app.route("/", createAdminMarginRoutes(deps));
  app.route("/", createApiKeyManageRoutes(deps));
  app.route("/", createAdminAccountRoutes(deps));
  app.route("/", createAdminConsoleRoutes(deps));
  app.route("/", createAdminSessionRoutes(deps));
  app.route("/", createWebAppRoutes());
  app.route("/", createWebApiRoutes(deps));
  app.route("/", createClientAccountRoutes(deps));
  app.route("/", createAccountSettingsRoutes(deps));
  app.route("/", createApiDocsRoutes());

  serveOpenApiDocument(app, { version: "0.1.0", publicUrl: deps.settings.publicUrl });
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
