import { z } from "@hono/zod-openapi";
import type { AuthContext } from "../../contracts/request.js";
import type { AppDeps } from "../deps.js";

const Figure = z.object({ limit: z.number().int(), current: z.number().int(), remaining: z.number().int() }).nullable();

/** The calling key's rate-limit state as `/usage` shows it (the full view is `GET /rate-limit`). */
export const RateLimitSection = z
  .object({
    window_seconds: z.number().int(),
    storage: z.enum(["redis", "memory"]),
    requests: Figure,
    tokens: Figure,
    concurrency: Figure,
  })
  .openapi("UsageRateLimit");

export async function rateLimitSection(deps: Pick<AppDeps, "rateLimit">, auth: AuthContext): Promise<z.infer<typeof RateLimitSection>> {
  const s = await deps.rateLimit.peek(auth);
  return { window_seconds: s.windowSeconds, storage: s.storage, requests: s.key.requests, tokens: s.key.tokens, concurrency: s.key.concurrency };
}
