import { normalizeIp } from "../core/ip.js";

// Matching lives in src/core/ip.ts (shared with the per-key allowlists and TRUSTED_PROXIES).
export { IpAllowlist } from "../core/ip.js";

/** YooKassa's published notification sources (IPv4 and IPv6 CIDRs / single addresses). */
export const DEFAULT_YOOKASSA_IPS: readonly string[] = [
  "185.71.76.0/27",
  "185.71.77.0/27",
  "77.75.153.0/25",
  "77.75.156.11",
  "77.75.156.35",
  "77.75.154.128/25",
  "2a02:5180::/32",
];

/**
 * The peer to trust: with no proxies the socket address; behind `hops` reverse proxies the entry
 * that many positions from the right of X-Forwarded-For (each proxy appends the address it saw),
 * never the client-supplied leftmost one.
 */
export function sourceIp(socketIp: string | null | undefined, forwardedFor: string | null | undefined, hops: number): string | null {
  if (hops <= 0) return socketIp ? normalizeIp(socketIp) : null;
  const chain = (forwardedFor ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const entry = chain[chain.length - hops];
  return entry ? normalizeIp(entry) : null;
}
