/**
 * What an upstream says about who answered, kept on the request log's `meta` for reconciliation
 * with the upstream's own records: its generation id (`id`: OpenRouter's `gen-…`, OpenAI's
 * `chatcmpl-…`) and the provider behind it when it routes further (OpenRouter's `provider`).
 */
export interface UpstreamIdentity {
  upstream_id?: string;
  upstream_provider?: string;
}

const bounded = (v: unknown, max: number): string | undefined => (typeof v === "string" && v.length > 0 && v.length <= max ? v : undefined);

/** From a response body or the first stream chunk (parsed), or undefined when it names neither. */
export function upstreamIdentity(json: unknown): UpstreamIdentity | undefined {
  if (!json || typeof json !== "object") return undefined;
  const j = json as { id?: unknown; provider?: unknown };
  const out: UpstreamIdentity = {};
  const id = bounded(j.id, 200);
  const provider = bounded(j.provider, 100);
  if (id) out.upstream_id = id;
  if (provider) out.upstream_provider = provider;
  return id || provider ? out : undefined;
}

/** Same, from the raw `data:` payload of a stream's first frame. */
export function upstreamIdentityOfFrame(data: string | null): UpstreamIdentity | undefined {
  if (!data || !data.startsWith("{")) return undefined;
  try {
    return upstreamIdentity(JSON.parse(data));
  } catch {
    return undefined;
  }
}
