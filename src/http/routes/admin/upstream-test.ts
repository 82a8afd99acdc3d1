import { createRoute, z } from "@hono/zod-openapi";
import { writeAudit } from "../../../audit/index.js";
import { AppError } from "../../../core/errors.js";
import { UpstreamClient } from "../../../proxy/upstream.js";
import { testUpstream } from "../../../proxy/upstream-test.js";
import type { AppDeps } from "../../deps.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { createRouter } from "../../router.js";
import { errorResponse as err, json, SECURITY } from "../../openapi.js";

const _TAG = ["Admin: console"];
const UpstreamTest = z
  .object({
    ok: z.boolean(),
    provider_id: z.string(),
    upstream_account_id: z.string().nullable(),
    upstream_model: z.string(),
    status: z.number().int().nullable(),
    latency_ms: z.number().int(),
    error: z.string().nullable(),
    reply: z.string().nullable(),
    usage: z.object({ prompt_tokens: z.number().nullable(), completion_tokens: z.number().nullable() }).nullable(),
  })
  .openapi("UpstreamTestResult");

/** "Test this upstream": one small request through a provider and upstream account, audited. */
export function createAdminUpstreamTestRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.admin;

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/routing/upstream-test",
      tags: ["Admin: routing"],
      summary: "Test this upstream: one tiny chat request (max_tokens 1) to a provider, optionally with one upstream account's key",
      description:
        "No routing, fallback, billing or circuit-breaker bookkeeping; audited as `routing.upstream.test`. Without `model`, the provider's first configured route's model is used.",
      security,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z
                .object({
                  provider_id: z.string().min(1).max(100),
                  upstream_account_id: z.string().min(1).max(200).optional(),
                  model: z.string().min(1).max(300).optional(),
                })
                .openapi("UpstreamTestRequest"),
            },
          },
          required: true,
        },
      },
      responses: { 200: json(UpstreamTest, "The result (ok or not)"), 400: err("No model to test with"), 404: err("Unknown provider or upstream account") },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const target = deps.providers.get(b.provider_id);
      if (!target) throw new AppError("not_found", `No provider ${b.provider_id}`, { param: "provider_id" });
      let account = null;
      if (b.upstream_account_id) {
        account =
          deps.routing
            ?.snapshot()
            .accountsByProvider.get(b.provider_id)
            ?.find((a) => a.id === b.upstream_account_id) ?? null;
        if (!account)
          throw new AppError("not_found", `No enabled upstream account ${b.upstream_account_id} with a usable key on ${b.provider_id}`, {
            param: "upstream_account_id",
          });
      }
      let model = b.model;
      if (!model) {
        for (const m of deps.catalog.models()) {
          const r = m.routes.find((x) => x.providerId === b.provider_id);
          if (r) {
            model = r.upstreamModel;
            break;
          }
        }
      }
      if (!model) throw new AppError("invalid_request", "This provider has no configured route: name a `model` to test with", { param: "model" });
      // A client of its own, closed at once: a test must not leave keep-alive sockets behind.
      const client = new UpstreamClient();
      const result = await testUpstream({ client, target, account, model, now: () => deps.clock.now() }).finally(() => client.close());
      await writeAudit(deps.db, {
        actor: c.get("actor"),
        action: "routing.upstream.test",
        targetType: account ? "upstream_account" : "provider",
        targetId: account?.id ?? target.id,
        after: { ok: result.ok, status: result.status, upstream_model: result.upstream_model, latency_ms: result.latency_ms },
        ip: clientIp(c),
      });
      return c.json(result, 200);
    },
  );

  return app;
}
