import { createRoute, z } from "@hono/zod-openapi";
import { maskKey } from "../../keys/index.js";
import type { UsageFigure } from "../../ratelimit/index.js";
import type { AppDeps } from "../deps.js";
import { apiKeyAuth } from "../middleware/api-key-auth.js";
import { createRouter } from "../router.js";
import { ErrorResponse } from "../schemas.js";

const Figure = z
  .object({ limit: z.number().int(), current: z.number().int(), remaining: z.number().int() })
  .nullable()
  .openapi("RateLimitFigure");

const RateLimitStatus = z
  .object({
    api_key: z.string().openapi({ example: "sk-gw-abcd…" }),
    limit: z.number().int().nullable().openapi({ description: "Requests per window for this key; null = no limit", example: 30 }),
    window_seconds: z.number().int().openapi({ example: 60 }),
    current_count: z.number().int().openapi({ description: "Requests of this key in the current sliding window", example: 5 }),
    remaining: z.number().int().nullable().openapi({ example: 25 }),
    storage: z.enum(["redis", "memory"]).openapi({ description: "`memory` without REDIS_URL, or per process while Redis is unreachable" }),
    redis: z.enum(["up", "down", "not_configured"]),
    tokens: Figure.openapi({ description: "Tokens of this key in the window (real usage once requests finish)" }),
    concurrency: Figure.openapi({ description: "Requests of this key running now" }),
    account: z.object({
      window_seconds: z.number().int(),
      requests: Figure,
      tokens: Figure,
      concurrency: Figure,
    }),
  })
  .openapi("RateLimitStatus");

const err = (d: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description: d });

/** Seed 001's `GET /rate-limit`: the calling key's limits, usage and where they are counted. */
export function createRateLimitRoutes(deps: AppDeps) {
  const app = createRouter();
  app.use("/rate-limit", apiKeyAuth(deps));
  app.openapi(
    createRoute({
      method: "get",
      path: "/rate-limit",
      tags: ["Account"],
      summary: "Rate-limit state of the calling API key",
      security: [{ bearerAuth: [] }],
      responses: {
        200: { content: { "application/json": { schema: RateLimitStatus } }, description: "Current limits and usage" },
        401: err("Missing or invalid API key"),
      },
    }),
    async (c) => {
      const auth = c.get("auth");
      const secret = /^Bearer\s+(\S+)/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
      const apiKey = maskKey(secret);
      const rl = deps.rateLimit;
      const s = await rl.peek(auth);
      const req: UsageFigure | null = s.key.requests;
      return c.json(
        {
          api_key: apiKey,
          limit: req?.limit ?? null,
          window_seconds: s.windowSeconds,
          current_count: req?.current ?? 0,
          remaining: req?.remaining ?? null,
          storage: s.storage,
          redis: rl.health().redis,
          tokens: s.key.tokens,
          concurrency: s.key.concurrency,
          account: { window_seconds: s.account.windowSeconds, requests: s.account.requests, tokens: s.account.tokens, concurrency: s.account.concurrency },
        },
        200,
      );
    },
  );
  return app;
}
