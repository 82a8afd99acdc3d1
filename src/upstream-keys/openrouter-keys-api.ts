import { request } from "undici";

/**
 * OpenRouter's key-management API (`/api/v1/keys`), called with a provisioning (management) key.
 * That key can only manage keys, never run a completion. Only the fields the gateway reads are typed.
 *
 *   POST   /keys          {name, limit}        → 201 {data: KeyInfo, key}   (the secret, shown once)
 *   GET    /keys?offset=N                      → {data: KeyInfo[]}          (100 per page)
 *   GET    /keys/{hash}                        → {data: KeyInfo}
 *   PATCH  /keys/{hash}   {limit?, disabled?}  → {data: KeyInfo}
 *   DELETE /keys/{hash}                        → {deleted: true}
 *
 * `limit` and `usage` are USD (JSON numbers); `limit: null` means no limit.
 */
export interface OpenRouterKeyInfo {
  hash: string;
  name: string;
  disabled: boolean;
  limit: number | null;
  usage: number;
}

export class OpenRouterKeysError extends Error {
  override name = "OpenRouterKeysError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface OpenRouterKeysApiOptions {
  /** OpenRouter's API root, e.g. https://openrouter.ai/api/v1 (OPENROUTER_BASE_URL). */
  baseUrl: string;
  provisioningKey: string;
  timeoutMs?: number;
}

/** Page size of GET /keys (OpenRouter returns at most 100 keys per page). */
export const KEYS_PAGE_SIZE = 100;

export class OpenRouterKeysApi {
  private readonly root: string;
  constructor(private readonly o: OpenRouterKeysApiOptions) {
    this.root = o.baseUrl.replace(/\/+$/, "");
  }

  async create(input: { name: string; limitUsd: number | null }): Promise<{ key: string; info: OpenRouterKeyInfo }> {
    const r = await this.call<{ data: OpenRouterKeyInfo; key: string }>("POST", "/keys", { name: input.name, limit: input.limitUsd });
    if (typeof r.key !== "string" || !r.key || typeof r.data?.hash !== "string") throw new OpenRouterKeysError(502, "key creation answered without a key or hash");
    return { key: r.key, info: r.data };
  }

  async get(hash: string): Promise<OpenRouterKeyInfo> {
    return (await this.call<{ data: OpenRouterKeyInfo }>("GET", `/keys/${encodeURIComponent(hash)}`)).data;
  }

  /** One page of the keys this provisioning key manages. */
  async list(offset: number): Promise<OpenRouterKeyInfo[]> {
    const r = await this.call<{ data: OpenRouterKeyInfo[] }>("GET", `/keys?offset=${offset}`);
    return Array.isArray(r.data) ? r.data : [];
  }

  async update(hash: string, patch: { limitUsd?: number | null; disabled?: boolean }): Promise<OpenRouterKeyInfo> {
    const body: Record<string, unknown> = {};
    if (patch.limitUsd !== undefined) body.limit = patch.limitUsd;
    if (patch.disabled !== undefined) body.disabled = patch.disabled;
    return (await this.call<{ data: OpenRouterKeyInfo }>("PATCH", `/keys/${encodeURIComponent(hash)}`, body)).data;
  }

  async remove(hash: string): Promise<void> {
    await this.call("DELETE", `/keys/${encodeURIComponent(hash)}`);
  }

  private async call<T>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
    const timeout = this.o.timeoutMs ?? 10_000;
    let res;
    try {
      res = await request(this.root + path, {
        method,
        headers: { authorization: `Bearer ${this.o.provisioningKey}`, accept: "application/json", ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout),
      });
    } catch (e) {
      throw new OpenRouterKeysError(0, `key-management API unreachable: ${(e as Error).message}`);
    }
    const text = await res.body.text();
    // The answer's text is OpenRouter's; only its start is kept, and never the provisioning key.
    if (res.statusCode >= 400) throw new OpenRouterKeysError(res.statusCode, `key-management API answered ${res.statusCode}: ${text.slice(0, 200)}`);
    if (!text) return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new OpenRouterKeysError(502, "key-management API answered with a body that is not JSON");
    }
  }
}
