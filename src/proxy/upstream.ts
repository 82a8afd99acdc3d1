import { errors as undiciErrors, Pool, type Dispatcher } from "undici";
import { DeadlineSweep } from "./deadline-sweep.js";
import type { lookup as dnsLookup } from "node:dns";
import { connectLookup, DEFAULT_ADDRESS_POLICY, literalHostProblem, type AddressPolicy, type ProviderTimeouts, type UpstreamRequest } from "../providers/index.js";

/** Why an upstream attempt failed before a usable response; drives fallback and the client error. */
export type UpstreamFailureKind = "connect" | "timeout_connect" | "timeout_first_byte" | "timeout_idle" | "timeout_total" | "aborted" | "network";

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "UpstreamFailure";
  }
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** Drops the total deadline once the body is consumed. */
  finish(): void;
}

/**
 * One undici `Pool` per upstream origin (and timeout profile): keep-alive connections reused across
 * requests without an `Agent` routing each call, and no cap on concurrent connections below what the
 * box holds (open streams each keep one). Connect, first-byte and idle timeouts are undici's own; the
 * total deadline is one shared sweep (deadline-sweep.ts), not a timer and a controller per request.
 */
export interface UpstreamClientOptions {
  /** Where connections may go (src/providers/base-url-guard.ts); checked on every new connection. */
  addressPolicy?: AddressPolicy;
  /** DNS resolver behind the check (tests). */
  resolve?: typeof dnsLookup;
  /** Concurrent connections per upstream origin; null = no limit (the default). */
  maxConnections?: number | null;
  /** The total-deadline sweep (tests pass one with their own clock). */
  deadlines?: DeadlineSweep;
}

export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();
  private readonly policy: AddressPolicy;
  private readonly lookup: ReturnType<typeof connectLookup>;
  private readonly maxConnections: number | null;
  private readonly deadlines: DeadlineSweep;
  /** Verdicts for IP-literal origins, which never pass through `lookup`. */
  private readonly literalVerdicts = new Map<string, string | null>();

  constructor(opts: UpstreamClientOptions = {}) {
    this.policy = opts.addressPolicy ?? DEFAULT_ADDRESS_POLICY;
    this.lookup = connectLookup(this.policy, opts.resolve);
    this.maxConnections = opts.maxConnections ?? null;
    this.deadlines = opts.deadlines ?? new DeadlineSweep();
  }

  private poolFor(origin: string, t: ProviderTimeouts): Pool {
    const key = `${origin} ${t.connectMs}:${t.firstByteMs}:${t.idleMs}:${t.totalMs}`;
    let p = this.pools.get(key);
    if (!p) {
      p = new Pool(origin, {
        // Resolved addresses are judged at connect time: DNS may have changed since the URL was accepted.
        connect: { timeout: t.connectMs, lookup: this.lookup },
        // The wait for headers is part of the total deadline too.
        headersTimeout: Math.min(t.firstByteMs, t.totalMs),
        bodyTimeout: t.idleMs,
        keepAliveTimeout: 30_000,
        connections: this.maxConnections,
        pipelining: 1,
      });
      this.pools.set(key, p);
    }
    return p;
  }

  /** Sends the request; resolves at response headers. `signal` aborts it (client gone). */
  async send(req: UpstreamRequest, timeouts: ProviderTimeouts, signal?: AbortSignal): Promise<UpstreamResponse> {
    const slash = req.url.indexOf("/", req.url.indexOf("//") + 2);
    const origin = slash === -1 ? req.url : req.url.slice(0, slash);
    const path = slash === -1 ? "/" : req.url.slice(slash);
    this.checkLiteralHost(origin, req.url);
    if (signal?.aborted) throw new UpstreamFailure("aborted", "client went away");
    let body: Dispatcher.ResponseData["body"] | null = null;
    let expired = false;
    const deadline = this.deadlines.add(timeouts.totalMs, () => {
      expired = true;
      body?.destroy(new UpstreamFailure("timeout_total", "upstream total timeout"));
    });
    const finish = () => this.deadlines.cancel(deadline);
    try {
      const res = await this.poolFor(origin, timeouts).request({ path, method: req.method as Dispatcher.HttpMethod, headers: req.headers, body: req.body, signal });
      body = res.body;
      if (expired) res.body.destroy(new UpstreamFailure("timeout_total", "upstream total timeout"));
      return { status: res.statusCode, headers: res.headers, body: res.body, finish };
    } catch (e) {
      finish();
      if (signal?.aborted) throw new UpstreamFailure("aborted", "client went away", { cause: e });
      // The header wait is capped at the total deadline: a cap that fired is the total timeout.
      if (e instanceof undiciErrors.HeadersTimeoutError && timeouts.totalMs < timeouts.firstByteMs) {
        throw new UpstreamFailure("timeout_total", "upstream total timeout", { cause: e });
      }
      throw classifyError(e);
    }
  }

  private checkLiteralHost(origin: string, url: string): void {
    let problem = this.literalVerdicts.get(origin);
    if (problem === undefined) {
      problem = literalHostProblem(url, this.policy);
      if (this.literalVerdicts.size > 1000) this.literalVerdicts.clear();
      this.literalVerdicts.set(origin, problem);
    }
    if (problem) throw new UpstreamFailure("connect", `upstream connection refused (${problem})`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }
}

/** Map undici/network errors to our failure kinds (never leaking URLs with credentials). */
export function classifyError(e: unknown, signal?: AbortSignal): UpstreamFailure {
  if (e instanceof UpstreamFailure) return e;
  if (signal?.aborted && signal.reason instanceof UpstreamFailure) return signal.reason;
  if (e instanceof undiciErrors.ConnectTimeoutError) return new UpstreamFailure("timeout_connect", "upstream connect timeout", { cause: e });
  if (e instanceof undiciErrors.HeadersTimeoutError) return new UpstreamFailure("timeout_first_byte", "upstream first-byte timeout", { cause: e });
  if (e instanceof undiciErrors.BodyTimeoutError) return new UpstreamFailure("timeout_idle", "upstream idle timeout", { cause: e });
  const code = (e as { code?: string })?.code;
  if (code === "EADDRNOTALLOWED") return new UpstreamFailure("connect", `upstream connection refused (${(e as Error).message})`, { cause: e });
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EHOSTUNREACH" || code === "ECONNRESET") {
    return new UpstreamFailure("connect", `upstream connection failed (${code})`, { cause: e });
  }
  if ((e as Error)?.name === "AbortError") return new UpstreamFailure("aborted", "request aborted", { cause: e });
  return new UpstreamFailure("network", "upstream network error", { cause: e });
}
