import { Agent, errors as undiciErrors, request, type Dispatcher } from "undici";
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
  /** Clears the total-deadline timer once the body is consumed. */
  finish(): void;
}

/**
 * One pooled undici Agent per distinct timeout profile: connections are reused across requests
 * (keep-alive), and the connect/first-byte/idle timeouts are enforced by undici itself.
 */
export interface UpstreamClientOptions {
  /** Where connections may go (src/providers/base-url-guard.ts); checked on every new connection. */
  addressPolicy?: AddressPolicy;
  /** DNS resolver behind the check (tests). */
  resolve?: typeof dnsLookup;
}

export class UpstreamClient {
  private readonly agents = new Map<string, Agent>();
  private readonly policy: AddressPolicy;
  private readonly lookup: ReturnType<typeof connectLookup>;
  /** Verdicts for IP-literal origins, which never pass through `lookup`. */
  private readonly literalVerdicts = new Map<string, string | null>();

  constructor(opts: UpstreamClientOptions = {}) {
    this.policy = opts.addressPolicy ?? DEFAULT_ADDRESS_POLICY;
    this.lookup = connectLookup(this.policy, opts.resolve);
  }

  private agentFor(t: ProviderTimeouts): Agent {
    const key = `${t.connectMs}:${t.firstByteMs}:${t.idleMs}`;
    let a = this.agents.get(key);
    if (!a) {
      a = new Agent({
        // Resolved addresses are judged at connect time: DNS may have changed since the URL was accepted.
        connect: { timeout: t.connectMs, lookup: this.lookup },
        headersTimeout: t.firstByteMs,
        bodyTimeout: t.idleMs,
        keepAliveTimeout: 30_000,
        connections: 256,
        pipelining: 1,
      });
      this.agents.set(key, a);
    }
    return a;
  }

  /** Sends the request; resolves at response headers. `signal` aborts it (client gone). */
  async send(req: UpstreamRequest, timeouts: ProviderTimeouts, signal?: AbortSignal): Promise<UpstreamResponse> {
    this.checkLiteralHost(req.url);
    const total = new AbortController();
    const timer = setTimeout(() => total.abort(new UpstreamFailure("timeout_total", "upstream total timeout")), timeouts.totalMs);
    timer.unref();
    const onAbort = () => total.abort(new UpstreamFailure("aborted", "client went away"));
    if (signal) {
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    try {
      const res = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        dispatcher: this.agentFor(timeouts),
        signal: total.signal,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, finish };
    } catch (e) {
      finish();
      throw classifyError(e, total.signal);
    }
  }

  private checkLiteralHost(url: string): void {
    const slash = url.indexOf("/", url.indexOf("//") + 2);
    const origin = slash === -1 ? url : url.slice(0, slash);
    let problem = this.literalVerdicts.get(origin);
    if (problem === undefined) {
      problem = literalHostProblem(url, this.policy);
      if (this.literalVerdicts.size > 1000) this.literalVerdicts.clear();
      this.literalVerdicts.set(origin, problem);
    }
    if (problem) throw new UpstreamFailure("connect", `upstream connection refused (${problem})`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close().catch(() => undefined)));
    this.agents.clear();
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
