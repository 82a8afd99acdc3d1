import { BlockList, isIP } from "node:net";

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

/** `::ffff:1.2.3.4` (how a dual-stack socket reports IPv4 peers) → `1.2.3.4`. */
export function normalizeIp(ip: string): string {
  const s = ip.trim().replace(/^\[|\]$/g, "");
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(s);
  return m ? m[1]! : s;
}

/** An allowlist with real CIDR math for both families (node:net BlockList). */
export class IpAllowlist {
  private readonly list = new BlockList();
  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const [addr, bits] = raw.trim().split("/");
      const family = isIP(addr ?? "");
      if (!addr || family === 0) throw new RangeError(`not an IP or CIDR: ${raw}`);
      const type = family === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.list.addAddress(addr, type);
      else {
        const prefix = Number(bits);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) throw new RangeError(`bad prefix: ${raw}`);
        this.list.addSubnet(addr, prefix, type);
      }
    }
  }
  has(ip: string | null | undefined): boolean {
    if (!ip) return false;
    const a = normalizeIp(ip);
    const family = isIP(a);
    if (family === 0) return false;
    return this.list.check(a, family === 6 ? "ipv6" : "ipv4");
  }
}

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
