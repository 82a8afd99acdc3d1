import type { Context } from "hono";
import { clientAddress, IpAllowlist, normalizeIp } from "../core/ip.js";
import type { AppEnv } from "./context.js";

/** Any Hono context (route handlers' contexts have narrower Variables than AppEnv's). */
type AnyContext = { env: unknown };

/** The TCP peer of the request (the proxy's address when one is in front). */
export function socketIp(c: AnyContext): string | null {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const a = env?.incoming?.socket?.remoteAddress;
  return a ? normalizeIp(a) : null;
}

/**
 * The client's address: the socket peer, or — when the peer is one of TRUSTED_PROXIES — the
 * address those proxies put in X-Forwarded-For. The login throttle, per-key IP allowlists and the
 * audit log all read it from here.
 */
export function clientIp(c: AnyContext): string | null {
  const resolved = (c as Context<AppEnv>).get("clientIp");
  return resolved !== undefined ? resolved : socketIp(c);
}

/** Built once per app: resolves the client address per request only when proxies are configured. */
export function clientIpResolver(trustedProxies: readonly string[]): ((c: Context<AppEnv>) => void) | null {
  if (!trustedProxies.length) return null;
  const trusted = new IpAllowlist(trustedProxies);
  return (c) => c.set("clientIp", clientAddress(socketIp(c), c.req.header("x-forwarded-for"), trusted));
}
