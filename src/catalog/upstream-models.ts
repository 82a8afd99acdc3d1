import { request } from "undici";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { joinUrl, type ProviderTarget } from "../providers/index.js";

export interface UpstreamModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  [k: string]: unknown;
}

/**
 * The model list of the default upstream, for a gateway configured without a `models` list
 * (e.g. `OPENROUTER_API_KEY` alone), where every model is passed through as is. Cached for `ttlMs`;
 * on an upstream failure the last good list (or an empty one) is served and the failure logged.
 */
export class UpstreamModelList {
  private cached: { at: number; data: UpstreamModel[] } | null = null;
  private inflight: Promise<UpstreamModel[]> | null = null;

  constructor(private readonly opts: { target: () => ProviderTarget | undefined; clock: Clock; logger: Logger; ttlMs?: number }) {}

  async list(): Promise<UpstreamModel[]> {
    const ttl = this.opts.ttlMs ?? 300_000;
    if (this.cached && this.opts.clock.now() - this.cached.at < ttl) return this.cached.data;
    this.inflight ??= this.fetch().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async fetch(): Promise<UpstreamModel[]> {
    const t = this.opts.target();
    if (!t) return [];
    try {
      const res = await request(joinUrl(t.baseUrl, "/models"), {
        method: "GET",
        headers: { accept: "application/json", ...t.headers, ...(t.apiKey ? { authorization: `Bearer ${t.apiKey}` } : {}) },
        headersTimeout: Math.min(t.timeouts.firstByteMs, 15_000),
        bodyTimeout: 15_000,
      });
      const body = (await res.body.json()) as { data?: unknown };
      if (res.statusCode !== 200 || !Array.isArray(body.data)) throw new Error(`HTTP ${res.statusCode}`);
      const data = body.data
        .filter((m): m is Record<string, unknown> => !!m && typeof m === "object" && typeof (m as { id?: unknown }).id === "string")
        .map((m) => ({ ...m, id: m.id as string, object: "model" as const, created: typeof m.created === "number" ? m.created : 0, owned_by: typeof m.owned_by === "string" ? m.owned_by : t.id }));
      this.cached = { at: this.opts.clock.now(), data };
      return data;
    } catch (e) {
      this.opts.logger.warn({ provider: t.id, err: (e as Error).message }, "could not list the upstream's models");
      return this.cached?.data ?? [];
    }
  }
}
