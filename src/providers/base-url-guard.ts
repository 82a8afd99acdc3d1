import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP } from "node:net";

/**
 * Where the gateway may send upstream requests. A provider base URL comes from the config file or
 * the admin API; either can be wrong or hostile, and the gateway calls it with the operator's key.
 *
 * - Only http and https.
 * - Never link-local (169.254.0.0/16 — cloud metadata lives there — and fe80::/10), cloud metadata
 *   addresses and names, the unspecified address (0.0.0.0 reaches this host), multicast or reserved
 *   ranges — in every spelling: the URL parser normalises `0x7f000001`, `2130706433` and `0177.0.0.1`,
 *   and IPv4 inside IPv6 (`::ffff:169.254.169.254`, NAT64 `64:ff9b::/96`) is judged as the IPv4.
 * - Loopback and private ranges (RFC 1918, CGNAT, IPv6 ULA) only when allowed by
 *   UPSTREAM_ALLOW_LOOPBACK / UPSTREAM_ALLOW_PRIVATE (both on by default: a LiteLLM next to the
 *   gateway, on the same box or in the same Docker network, is the common set-up).
 *
 * Names are checked again at every new connection (`connectLookup`): DNS can answer differently
 * later than when the URL was accepted.
 */
export interface AddressPolicy {
  allowLoopback: boolean;
  allowPrivate: boolean;
}

export const DEFAULT_ADDRESS_POLICY: AddressPolicy = { allowLoopback: true, allowPrivate: true };

export type AddressClass = "public" | "loopback" | "private" | "link_local" | "metadata" | "unspecified" | "multicast" | "reserved";

/** Host names of cloud metadata services (GCP, AWS, Azure, Alibaba, Tencent, …). */
const METADATA_NAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.internal",
  "metadata.tencentyun.com",
  "metadata.platformequinix.com",
]);

/** Metadata services outside 169.254/16. */
const METADATA_V4 = new Set(["100.100.100.200", "192.0.0.192"]);

function v4Octets(ip: string): number[] | null {
  const p = ip.split(".");
  if (p.length !== 4) return null;
  const o = p.map((x) => (/^\d{1,3}$/.test(x) ? Number(x) : NaN));
  return o.every((n) => n >= 0 && n <= 255) ? o : null;
}

export function classifyIPv4(ip: string): AddressClass {
  const o = v4Octets(ip);
  if (!o) return "reserved";
  const [a, b] = o as [number, number, number, number];
  if (METADATA_V4.has(ip)) return "metadata";
  if (a === 0) return "unspecified";
  if (a === 127) return "loopback";
  if (a === 169 && b === 254) return "link_local";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) return "private";
  if (a >= 224 && a <= 239) return "multicast";
  if (a >= 240) return "reserved";
  return "public";
}

/** Eight 16-bit groups of an IPv6 address (embedded dotted IPv4 allowed), or null. */
function v6Groups(ip: string): number[] | null {
  let s = ip.toLowerCase();
  const zone = s.indexOf("%");
  if (zone !== -1) s = s.slice(0, zone);
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    const o = v4Octets(s.slice(lastColon + 1));
    if (!o) return null;
    tail.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((h) => (/^[0-9a-f]{1,4}$/.test(h) ? parseInt(h, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  const groups = [...head, ...Array<number>(Math.max(0, fill)).fill(0), ...rest];
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return null;
  if (tail.length) groups.splice(6, 2, ...tail);
  return groups;
}

export function classifyIPv6(ip: string): AddressClass {
  const g = v6Groups(ip);
  if (!g) return "reserved";
  const v4 = () => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 8)) return "unspecified";
  if (zero(0, 7) && g[7] === 1) return "loopback";
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d): the IPv4 decides.
  if (zero(0, 5) && g[5] === 0xffff) return classifyIPv4(v4());
  if (zero(0, 6)) return classifyIPv4(v4());
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return classifyIPv4(v4());
  // AWS's IPv6 metadata endpoint fd00:ec2::254.
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && zero(2, 7) && g[7] === 0x254) return "metadata";
  if ((g[0]! & 0xffc0) === 0xfe80) return "link_local";
  if ((g[0]! & 0xfe00) === 0xfc00) return "private";
  if ((g[0]! & 0xff00) === 0xff00) return "multicast";
  return "public";
}

export function classifyAddress(ip: string): AddressClass {
  const v = isIP(ip);
  if (v === 4) return classifyIPv4(ip);
  if (v === 6) return classifyIPv6(ip);
  return "reserved";
}

export function addressAllowed(cls: AddressClass, policy: AddressPolicy): boolean {
  if (cls === "public") return true;
  if (cls === "loopback") return policy.allowLoopback;
  if (cls === "private") return policy.allowPrivate;
  return false;
}

const WHY: Record<AddressClass, string> = {
  public: "",
  loopback: "a loopback address (UPSTREAM_ALLOW_LOOPBACK=false)",
  private: "a private-network address (UPSTREAM_ALLOW_PRIVATE=false)",
  link_local: "a link-local address (cloud metadata lives there)",
  metadata: "a cloud metadata address",
  unspecified: "the unspecified address",
  multicast: "a multicast address",
  reserved: "a reserved address",
};

/** Why a base URL may not be used, or null when it may. Host names other than metadata/localhost are judged at connect time. */
export function baseUrlProblem(raw: string, policy: AddressPolicy): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "is not a valid URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `must be http or https, not ${u.protocol.replace(/:$/, "")}`;
  if (u.username || u.password) return "must not carry credentials (use api_key or headers)";
  const host = u.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
  if (!host) return "has no host";
  if (isIP(host)) {
    const cls = classifyAddress(host);
    return addressAllowed(cls, policy) ? null : `points at ${WHY[cls]}`;
  }
  if (METADATA_NAMES.has(host)) return `points at ${WHY.metadata}`;
  if (host === "localhost" || host.endsWith(".localhost")) return addressAllowed("loopback", policy) ? null : `points at ${WHY.loopback}`;
  return null;
}

export class UpstreamAddressError extends Error {
  readonly code = "EADDRNOTALLOWED";
  constructor(message: string) {
    super(message);
    this.name = "UpstreamAddressError";
  }
}

type LookupFn = typeof dnsLookup;
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls.connect (undici's `connect` options): resolves as usual, then refuses the
 * connection when any resolved address is not allowed (so DNS rebinding to 169.254.169.254 fails).
 */
export function connectLookup(policy: AddressPolicy, resolve: LookupFn = dnsLookup) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    (resolve as (h: string, o: LookupOptions & { all: true }, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => void)(
      hostname,
      { ...options, all: true },
      (err, addresses) => {
        if (err) return callback(err, "", 0);
        const bad = addresses.find((a) => !addressAllowed(classifyAddress(a.address), policy));
        if (bad) return callback(new UpstreamAddressError(`upstream host ${hostname} resolved to ${WHY[classifyAddress(bad.address)]}`), "", 0);
        if (options.all) return callback(null, addresses);
        const first = addresses[0];
        if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "", 0);
        callback(null, first.address, first.family);
      },
    );
  };
}

/** An IP-literal URL never passes through `lookup`: the client checks it (once per origin) itself. */
export function literalHostProblem(url: string, policy: AddressPolicy): string | null {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return "invalid URL";
  }
  if (!isIP(host)) return null;
  const cls = classifyAddress(host);
  return addressAllowed(cls, policy) ? null : `upstream address ${host} is ${WHY[cls]}`;
}
