import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeKey {
  hash: string;
  key: string;
  name: string;
  disabled: boolean;
  limit: number | null;
  usage: number;
}

export interface FakeCall {
  method: string;
  path: string;
  authorization: string;
  body: Record<string, unknown> | null;
}

/**
 * A fake of OpenRouter: the key-management API (`/api/v1/keys`, provisioning key only) and a chat
 * completions endpoint that serves its managed keys (401 for a disabled or unknown one, 402 past the
 * limit; each answer costs `costPerRequest` USD on the key) and the shared provider key. Every call is
 * recorded; `failNext` answers the next key-management call with a status.
 */
export class FakeOpenRouter {
  readonly provisioningKey = "sk-or-prov-test-0123456789";
  readonly sharedKey = "sk-or-shared-provider-key-99";
  readonly keys = new Map<string, FakeKey>();
  readonly calls: FakeCall[] = [];
  costPerRequest = 0.0001;
  failNext: number | null = null;
  private server: Server | null = null;
  baseUrl = "";

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** Key-management calls by method (POST, PATCH, …). */
  managementCalls(method?: string): FakeCall[] {
    return this.calls.filter((c) => c.path.startsWith("/keys") && (!method || c.method === method));
  }

  /** The bearer of the completions calls, in order. */
  completionBearers(): string[] {
    return this.calls.filter((c) => c.path === "/chat/completions").map((c) => c.authorization.replace(/^Bearer /, ""));
  }

  byName(name: string): FakeKey | undefined {
    return [...this.keys.values()].find((k) => k.name === name);
  }

  private info(k: FakeKey) {
    return { hash: k.hash, name: k.name, label: `${k.key.slice(0, 10)}...${k.key.slice(-3)}`, disabled: k.disabled, limit: k.limit, limit_remaining: k.limit === null ? null : k.limit - k.usage, usage: k.usage, created_at: "2026-01-01T00:00:00Z", updated_at: null };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname.replace(/^\/api\/v1/, "");
    const authorization = String(req.headers.authorization ?? "");
    this.calls.push({ method: req.method ?? "", path, authorization, body });
    const json = (status: number, o: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(o));
    };
    const error = (status: number, message: string) => json(status, { error: { code: status, message } });

    if (path === "/chat/completions" && req.method === "POST") {
      const bearer = authorization.replace(/^Bearer /, "");
      if (bearer !== this.sharedKey) {
        const k = [...this.keys.values()].find((x) => x.key === bearer);
        if (!k || k.disabled) return error(401, "User not found.");
        if (k.limit !== null && k.usage + this.costPerRequest > k.limit) return error(402, "Key limit exceeded");
        k.usage += this.costPerRequest;
      }
      return json(200, {
        id: `gen-${randomBytes(4).toString("hex")}`,
        object: "chat.completion",
        model: String(body?.model ?? ""),
        choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6, cost: this.costPerRequest },
      });
    }

    if (!path.startsWith("/keys")) return error(404, "Not found");
    if (authorization !== `Bearer ${this.provisioningKey}`) return error(401, "Provisioning key required");
    if (this.failNext !== null) {
      const s = this.failNext;
      this.failNext = null;
      return error(s, "injected failure");
    }
    const hash = decodeURIComponent(path.slice("/keys/".length));
    if (path === "/keys" && req.method === "GET") {
      const offset = Number(url.searchParams.get("offset") ?? 0);
      return json(200, { data: [...this.keys.values()].slice(offset, offset + 100).map((k) => this.info(k)) });
    }
    if (path === "/keys" && req.method === "POST") {
      if (typeof body?.name !== "string" || !body.name) return error(400, "name is required");
      const key = `sk-or-v1-${randomBytes(32).toString("hex")}`;
      const k: FakeKey = { hash: createHash("sha256").update(key).digest("hex"), key, name: body.name, disabled: false, limit: typeof body.limit === "number" ? body.limit : null, usage: 0 };
      this.keys.set(k.hash, k);
      return json(201, { data: this.info(k), key });
    }
    const k = this.keys.get(hash);
    if (!k) return error(404, "Key not found");
    if (req.method === "GET") return json(200, { data: this.info(k) });
    if (req.method === "PATCH") {
      if (body && "limit" in body) k.limit = typeof body.limit === "number" ? body.limit : null;
      if (body && typeof body.disabled === "boolean") k.disabled = body.disabled;
      return json(200, { data: this.info(k) });
    }
    if (req.method === "DELETE") {
      this.keys.delete(hash);
      return json(200, { deleted: true });
    }
    return error(405, "Method not allowed");
  }
}
