import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeYooPayment {
  id: string;
  status: "pending" | "waiting_for_capture" | "succeeded" | "canceled";
  paid: boolean;
  amount: { value: string; currency: string };
  confirmation: { type: "redirect"; confirmation_url: string };
  metadata: Record<string, string>;
  test: true;
}

/** A fake YooKassa v3 API: payments and refunds with Idempotence-Key semantics and fault injection. */
export class FakeYooKassa {
  readonly shopId = "123456";
  readonly secretKey = "test_secret_key";
  readonly requests: { method: string; path: string; idempotenceKey: string | null; body: any }[] = [];
  readonly payments = new Map<string, FakeYooPayment>();
  readonly refunds = new Map<string, { id: string; payment_id: string; status: string; amount: { value: string; currency: string } }>();
  private readonly byKey = new Map<string, string>();
  /** Drop the connection after processing the next create (the request took effect, the response is lost). */
  dropNextCreateResponse = false;
  /** Answer the next GET with this HTTP status. */
  failNextGet: number | null = null;
  refundStatus: "succeeded" | "pending" = "succeeded";
  private server: Server | null = null;
  apiRoot = "";

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.apiRoot = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v3`;
    return this.apiRoot;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** What the shop sees when the payer completes (or abandons) the payment. */
  setStatus(id: string, status: FakeYooPayment["status"]): void {
    const p = this.payments.get(id)!;
    p.status = status;
    p.paid = status === "succeeded" || status === "waiting_for_capture";
  }

  gets(): number {
    return this.requests.filter((r) => r.method === "GET").length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = raw ? JSON.parse(raw) : null;
    const path = (req.url ?? "").replace(/^\/v3/, "");
    const key = (req.headers["idempotence-key"] as string | undefined) ?? null;
    this.requests.push({ method: req.method ?? "", path, idempotenceKey: key, body });
    const send = (status: number, obj: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    const auth = `Basic ${Buffer.from(`${this.shopId}:${this.secretKey}`).toString("base64")}`;
    if (req.headers.authorization !== auth) return send(401, { type: "error", code: "invalid_credentials" });

    if (req.method === "POST" && path === "/payments") {
      if (!key) return send(400, { type: "error", code: "invalid_request", description: "Idempotence-Key is required" });
      let id = this.byKey.get(key);
      if (!id) {
        id = randomUUID();
        this.byKey.set(key, id);
        this.payments.set(id, {
          id,
          status: "pending",
          paid: false,
          amount: body.amount,
          confirmation: { type: "redirect", confirmation_url: `https://yoomoney.example/checkout?orderId=${id}` },
          metadata: body.metadata ?? {},
          test: true,
        });
      }
      if (this.dropNextCreateResponse) {
        this.dropNextCreateResponse = false;
        req.socket.destroy();
        return;
      }
      return send(200, this.payments.get(id));
    }
    if (req.method === "GET" && this.failNextGet) {
      const s = this.failNextGet;
      this.failNextGet = null;
      return send(s, { type: "error", code: "internal_server_error" });
    }
    let m = /^\/payments\/([\w-]+)$/.exec(path);
    if (req.method === "GET" && m) {
      const p = this.payments.get(m[1]!);
      return p ? send(200, p) : send(404, { type: "error", code: "not_found" });
    }
    if (req.method === "POST" && path === "/refunds") {
      if (!key) return send(400, { type: "error", code: "invalid_request" });
      let id = this.byKey.get(key);
      if (!id) {
        id = randomUUID();
        this.byKey.set(key, id);
        this.refunds.set(id, { id, payment_id: body.payment_id, status: this.refundStatus, amount: body.amount });
      }
      return send(200, this.refunds.get(id));
    }
    m = /^\/refunds\/([\w-]+)$/.exec(path);
    if (req.method === "GET" && m) {
      const r = this.refunds.get(m[1]!);
      return r ? send(200, r) : send(404, { type: "error", code: "not_found" });
    }
    send(404, { type: "error", code: "not_found" });
  }
}
