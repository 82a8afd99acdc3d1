import { bodyLimitGuard } from "./body.js";
import type { Context } from "hono";
import { cors } from "./cors.js";
import type { AppEnv, Principal } from "./context.js";
import type { AppDeps } from "./deps.js";
import { notFound, onError } from "./errors.js";
import { adminAuth } from "./middleware/admin-auth.js";
import { apiKeyAuth } from "./middleware/api-key-auth.js";
import { sessionPlaygroundAuthenticator } from "./middleware/browser-session.js";
import { didAuthenticator } from "./middleware/did-auth.js";
import { refusalTrail } from "./middleware/refusal-trail.js";
import { requestContext } from "./middleware/request-context.js";
import { SECURITY } from "./openapi.js";
import { serveOpenApiDocument } from "./openapi-document.js";
import { gatewayPath } from "./openrouter-paths.js";
import { createRouter } from "./router.js";
import { createAdminAccountBillingRoutes } from "./routes/admin/account-billing.js";
import { createAdminFxRateRoutes } from "./routes/admin/fx-rates.js";
import { createAdminPriceRoutes } from "./routes/admin/prices.js";
import { createAdminStatsRoutes } from "./routes/admin/stats.js";
import { createAdminTariffRoutes } from "./routes/admin/tariffs.js";
import { createAdminLogEntryRoutes } from "./routes/admin/log-entry.js";
import { createAdminOverviewRoutes } from "./routes/admin/overview.js";
import { createAdminPriceTableRoutes } from "./routes/admin/price-table.js";
import { createAdminCommissionRoutes } from "./routes/admin/referral-commissions.js";
import { createAdminUpstreamTestRoutes } from "./routes/admin/upstream-test.js";
import { createAdminSessionRoutes } from "./routes/admin-session.js";
import { createAuthEmailRoutes } from "./routes/auth-email.js";
import { createAdminMarginRoutes } from "./routes/admin-margin.js";
import { createDidUsageRoutes } from "./routes/auth/did-usage.js";
import { createPasswordAuthRoutes } from "./routes/auth/password.js";
import { createSessionRoutes } from "./routes/auth/sessions.js";
import { createTelegramAuthRoutes } from "./routes/auth/telegram.js";
import { createAdminAccountRoutes } from "./routes/admin/accounts.js";
import { createAdminLogRoutes } from "./routes/admin/logs.js";
import { createAdminPlatformRoutes } from "./routes/admin/platform.js";
import { createAdminUserRoutes } from "./routes/admin/users.js";
import { createKeyRoutes } from "./routes/keys.js";
import { principalAuth, principalOf } from "./middleware/session-auth.js";
import { createCreditsRoutes } from "./routes/client/credits.js";
import { createGenerationRoutes } from "./routes/client/generation.js";
import { createClientKeyRoutes } from "./routes/client/key.js";
import { createClientUsageRoutes } from "./routes/client/usage.js";
import { createOpenAIRoutes } from "./routes/openai.js";
import { createAdminCircuitRoutes } from "./routes/admin/circuits.js";
import { createAdminModelRouteRoutes } from "./routes/admin/model-routes.js";
import { createAdminProviderRoutes } from "./routes/admin/providers.js";
import { createAdminUpstreamAccountRoutes } from "./routes/admin/upstream-accounts.js";
import { anthropicErrorShape, createInboundDialectRoutes } from "./routes/inbound-dialects.js";
import { createPassthroughRoutes } from "./routes/passthrough.js";
import { createRateLimitRoutes } from "./routes/rate-limit.js";
import { createSystemRoutes } from "./routes/system.js";
import { createTelegramRoutes } from "./routes/telegram.js";
import { createPaymentsRoutes } from "./routes/payments.js";
import { createTelegramPaymentLinkRoutes } from "./routes/payments-telegram.js";
import { createAccountSettingsRoutes } from "./routes/account-settings.js";
import { createClientMoneyHistoryRoutes } from "./routes/client/money-history.js";
import { createClientPriceRoutes } from "./routes/client/prices.js";
import { createClientRequestRoutes } from "./routes/client/requests.js";
import { createWebApiRoutes, widgetBotId } from "./routes/web-api.js";
import { createWebAppRoutes } from "./routes/web-app.js";
import { createAdminPaymentsRoutes } from "./routes/admin/payments.js";
import { createAdminReconciliationRoutes } from "./routes/admin/payments-reconciliation.js";
import { createAdminRefundRequestRoutes } from "./routes/admin/refund-requests.js";
import { createApiDocsRoutes } from "./routes/api-docs.js";


/**
 * The HTTP application. Order matters: request context → body limit → authentication (before any
 * body is parsed) → route validation → handler. Errors of every kind leave through `onError`.
 */
export function createApp(deps: AppDeps) {
  // `/api/v1/…` is `/v1/…` (OpenRouter's base path; see openrouter-paths.ts).
  const app = createRouter({ getPath: gatewayPath });
  app.use("*", requestContext(deps));
  // Preflights are answered here, before any authentication (src/http/cors.ts).
  app.use("*", cors(deps.settings.cors));
  // Anthropic's clients read errors in Anthropic's shape, the body limit's and authentication's included.
  for (const p of ["/v1/messages", "/v1/messages/*"]) app.use(p, anthropicErrorShape);
  app.use("*", bodyLimitGuard(deps.settings.maxBodyBytes));

  // Before authentication, so it sees refusals by the key check as well as by limits and balance.
  for (const p of ["/v1/chat/*", "/v1/completions", "/v1/embeddings", "/v1/messages", "/v1/responses"]) app.use(p, refusalTrail(deps));
  // Bearer key, or a DID-signed request that yields the same AuthContext.
  const inference = apiKeyAuth(deps, { scope: "inference", alternatives: [didAuthenticator(deps, "inference")] });
  // The dashboard's playground: a session calls chat through its own playground key.
  app.use("/v1/chat/*", apiKeyAuth(deps, { scope: "inference", alternatives: [didAuthenticator(deps, "inference"), sessionPlaygroundAuthenticator(deps)] }));
  app.use("/v1/completions", inference);
  app.use("/v1/embeddings", inference);
  app.use("/v1/responses", inference);
  // Anthropic's clients send the key as `x-api-key`; Claude Code's auth token comes as Bearer.
  const anthropicAuth = apiKeyAuth(deps, { scope: "inference", xApiKey: true, alternatives: [didAuthenticator(deps, "inference")] });
  app.use("/v1/messages", anthropicAuth);
  app.use("/v1/messages/*", anthropicAuth);

  const admin = adminAuth(deps);
  app.use("/admin/*", admin);
  app.use("/v1/admin/*", admin);
  app.use("/v1/key/generate", admin);

  app.route("/", createSystemRoutes(deps));
  app.route("/", createOpenAIRoutes(deps));
  app.route("/", createRateLimitRoutes(deps));
  for (const routes of [createAdminProviderRoutes, createAdminUpstreamAccountRoutes, createAdminModelRouteRoutes, createAdminCircuitRoutes]) app.route("/", routes(deps));
  app.route("/", createInboundDialectRoutes(deps));
  app.route("/", createPassthroughRoutes(deps));
  for (const routes of [createClientUsageRoutes, createClientKeyRoutes, createGenerationRoutes, createCreditsRoutes]) app.route("/", routes(deps));
  for (const routes of [createAdminAccountBillingRoutes, createAdminTariffRoutes, createAdminPriceRoutes, createAdminFxRateRoutes, createAdminStatsRoutes]) {
    app.route("/", routes(deps));
  }
  app.route("/", createTelegramRoutes(deps));
  app.route("/", createPaymentsRoutes(deps));
  app.route("/", createTelegramPaymentLinkRoutes(deps));
  for (const routes of [createAdminPaymentsRoutes, createAdminRefundRequestRoutes, createAdminReconciliationRoutes]) app.route("/", routes(deps));
  for (const routes of [createPasswordAuthRoutes, createSessionRoutes, createTelegramAuthRoutes, createDidUsageRoutes]) app.route("/", routes(deps));
  // One key router for both audiences: the caller's own keys, and any account's for admins.
  const principal = principalAuth(deps);
  app.use("/v1/auth/api-keys", principal);
  app.use("/v1/auth/api-keys/*", principal);
  app.route("/", createKeyRoutes(deps, { prefix: "/v1/auth/api-keys", tag: "API keys", security: SECURITY.bearer, principal: principalOf }));
  app.route("/", createKeyRoutes(deps, { prefix: "/admin/keys", tag: "Admin: keys", security: SECURITY.admin, principal: adminPrincipal }));
  for (const routes of [createAdminAccountRoutes, createAdminUserRoutes, createAdminLogRoutes, createAdminPlatformRoutes]) app.route("/", routes(deps));
  app.route("/", createAuthEmailRoutes(deps));
  app.route("/", createAdminMarginRoutes(deps));
  for (const routes of [createAdminOverviewRoutes, createAdminPriceTableRoutes, createAdminCommissionRoutes, createAdminLogEntryRoutes, createAdminUpstreamTestRoutes]) app.route("/", routes(deps));
  app.route("/", createAdminSessionRoutes(deps));
  app.route("/", createWebAppRoutes({ telegramWidget: widgetBotId(deps.settings) !== null }));
  app.route("/", createWebApiRoutes(deps));
  for (const routes of [createClientRequestRoutes, createClientPriceRoutes, createClientMoneyHistoryRoutes]) app.route("/", routes(deps));
  app.route("/", createAccountSettingsRoutes(deps));
  app.route("/", createApiDocsRoutes());

  serveOpenApiDocument(app, { version: "0.1.0", publicUrl: deps.settings.publicUrl });
  app.notFound(notFound);
  app.onError(onError);
  return app;
}

/** The admin behind the admin middleware, as the key router's principal (acts on any account). */
function adminPrincipal(c: Context<AppEnv>): Principal {
  const actor = c.get("actor");
  return { kind: "admin_token", userId: null, accountId: null, role: "admin", actor, sessionId: null, keyId: null, viaCookie: false };
}
