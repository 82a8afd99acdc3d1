import type { PreparedBilling, ServedBy, TokenUsage } from "../contracts/request.js";
import type { CachedResponse } from "../routing/response-cache.js";
import type { MeteredRequest } from "./metered-request.js";
import type { ProxyRequest, ResolvedDeps } from "./proxy-deps.js";

/**
 * A response-cache hit: never sent upstream. Billed at the configured fraction of the original
 * usage (0 = free: no hold, no charge); the upstream cost of a hit is zero, so all of it is profit.
 */
export async function serveCached(d: ResolvedDeps, req: ProxyRequest, metered: MeteredRequest, prepared: PreparedBilling, hit: CachedResponse): Promise<Response> {
  const served: ServedBy = { providerId: hit.providerId, upstreamAccountId: null, upstreamModel: hit.upstreamModel, discountBp: 10_000, price: null };
  const bp = d.cache!.hitPriceBp;
  const u = hit.usage;
  const scale = (n: number) => Math.ceil((n * bp) / 10_000);
  let usage: TokenUsage | null = null;
  if (u && bp > 0) {
    usage = { promptTokens: scale(u.promptTokens), completionTokens: scale(u.completionTokens), totalTokens: 0, estimated: false };
    if (u.cachedTokens !== undefined) usage.cachedTokens = scale(u.cachedTokens);
    if (u.reasoningTokens !== undefined) usage.reasoningTokens = scale(u.reasoningTokens);
    usage.totalTokens = usage.promptTokens + usage.completionTokens;
  }
  // The hold covers exactly the known usage (the charge never exceeds a hold).
  await metered.reserve(usage ? prepared : null, { promptTokens: usage?.promptTokens ?? 0, requestedMaxTokens: Math.max(1, usage?.completionTokens ?? 1) });
  const settled = await metered.finish({ status: "completed", served, usage, cacheHit: true, meta: { cache_hit_price_bp: bp } });
  let body = hit.body;
  if (hit.contentType.includes("json")) {
    try {
      const j = JSON.parse(body) as { usage?: Record<string, unknown> };
      if (j.usage && typeof j.usage === "object") {
        j.usage.cost = settled ? Number(settled.costDisplay) : 0;
        body = JSON.stringify(j);
      }
    } catch {
      /* stored as sent; leave it */
    }
  }
  const headers: Record<string, string> = {
    "content-type": hit.contentType,
    "x-request-id": req.requestId,
    "x-router-log-id": req.requestId,
    "x-gateway-provider": hit.providerId,
    "x-gateway-model": hit.upstreamModel,
    "x-gateway-cache": "HIT",
    ...metered.headers(),
  };
  return new Response(body, { status: hit.status, headers });
}
