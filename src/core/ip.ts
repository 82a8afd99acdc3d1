import { BlockList, isIP } from "node:net";

/** `::ffff:1.2.3.4` (how a dual-stack socket reports IPv4 peers) → `1.2.3.4`; brackets dropped. */
export function normalizeIp(ip: string): string {
  const s = ip.trim().replace(/^\[|\]$/g, "");
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(s);
  return m ? m[1]! : s;
}

/** Null when `entry` is an IPv4/IPv6 address or CIDR range, else why not. */
export function ipOrCidrProblem(entry: string): string | null {
  const [addr, bits, extra] = entry.trim().split("/");
  const family = isIP(addr ?? "");
  if (!addr || family === 0 || extra !== undefined) return "not an IP address or CIDR range";
  if (bits === undefined) return null;
  const prefix = Number(bits);
  if (!/^\d+$/.test(bits) || prefix > (family === 6 ? 128 : 32)) return `bad prefix length /${bits}`;
  return null;
}

/** Addresses and CIDR ranges of both families, matched with node:net's BlockList. */
export class IpAllowlist {
  private readonly list = new BlockList();
  readonly size: number;
  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const problem = ipOrCidrProblem(raw);
      if (problem) throw new RangeError(`${raw}: ${problem}`);
      const [addr, bits] = raw.trim().split("/") as [string, string | undefined];
      const type = isIP(addr) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(bits), type);
    }
    this.size = entries.length;
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
 * The client's address behind trusted reverse proxies: the socket peer when it is not a trusted
 * proxy; otherwise X-Forwarded-For read from the right, skipping trusted proxies, up to the first
 * address that is not one (each proxy appends the peer it saw, so entries left of an untrusted hop
 * are the client's own claims and are never believed).
 */
export function clientAddress(peer: string | null, forwardedFor: string | null | undefined, trusted: IpAllowlist): string | null {
  if (!peer) return null;
  let current = normalizeIp(peer);
  if (!trusted.has(current) || !forwardedFor) return current;
  const chain = forwardedFor.split(",");
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = normalizeIp(chain[i]!);
    if (isIP(hop) === 0) return current;
    current = hop;
    if (!trusted.has(hop)) return hop;
  }
  return current;
}

/** Per-key allowlists are small and reused by every request of the key: build each matcher once. */
const matchers = new WeakMap<readonly string[], IpAllowlist | null>();
export function ipAllowed(allowlist: readonly string[], ip: string | null): boolean {
  if (!ip) return false;
  let m = matchers.get(allowlist);
  if (m === undefined) {
    try {
      m = new IpAllowlist(allowlist);
    } catch {
      // A stored entry that no longer parses: only exact matches count, as before CIDR support.
      m = null;
    }
    matchers.set(allowlist, m);
  }
  return m ? m.has(ip) : allowlist.includes(normalizeIp(ip));
}
