import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { StarTransaction, Update, User, UserFromGetMe } from "grammy/types";

/** A fake Bot API server: records every call a bot makes and answers with canned results. */
export interface RecordedCall {
  method: string;
  payload: Record<string, any>;
}

type Reply = { ok: true; result: unknown } | { ok: false; error_code: number; description: string };

export const BOT_TOKEN = "123456:TEST-token";
export const BOT_INFO = {
  id: 123456,
  is_bot: true,
  first_name: "Gateway Bot",
  username: "gateway_test_bot",
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
} satisfies UserFromGetMe;

export class FakeTelegram {
  readonly calls: RecordedCall[] = [];
  /** The bot's Star transactions, chronological, as getStarTransactions pages them. */
  readonly starTransactions: StarTransaction[] = [];
  private readonly failures = new Map<string, Reply[]>();
  private readonly refunded = new Set<string>();
  /** Updates waiting for a long-polling bot (getUpdates). */
  private readonly pending: Update[] = [];
  private waiters: Array<() => void> = [];
  private server: Server | null = null;
  private nextMessageId = 1;
  /** Delay every answer by this many ms (to widen race windows). */
  latencyMs = 0;
  apiRoot = "";

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.apiRoot = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.apiRoot;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    for (const w of this.waiters.splice(0)) w();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }

  /** The next call of `method` fails with this Bot API error (queue; one failure per entry). */
  failNext(method: string, errorCode: number, description: string): void {
    const q = this.failures.get(method) ?? [];
    q.push({ ok: false, error_code: errorCode, description });
    this.failures.set(method, q);
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  clear(): void {
    this.calls.length = 0;
  }

  /** Texts sent with sendMessage, in order. */
  texts(): string[] {
    return this.callsOf("sendMessage").map((c) => String(c.payload.text));
  }

  /** Adds an incoming Stars payment to the bot's transaction history (as Telegram would). */
  addIncomingStars(p: { chargeId: string; amount: number; user: User; payload: string; date?: number }): void {
    this.starTransactions.push({
      id: p.chargeId,
      amount: p.amount,
      date: p.date ?? Math.floor(Date.now() / 1000),
      source: { type: "user", transaction_type: "invoice_payment", user: p.user, invoice_payload: p.payload },
    });
  }

  /** Queues an update for a bot that uses long polling. */
  queueUpdate(u: Update): void {
    this.pending.push(u);
    for (const w of this.waiters.splice(0)) w();
  }

  private async getUpdates(p: Record<string, any>): Promise<Reply> {
    const offset = Number(p.offset ?? 0);
    const ready = () => this.pending.filter((u) => u.update_id >= offset);
    if (ready().length === 0) {
      const waitMs = Math.min(Number(p.timeout ?? 0), 1) * 1000;
      await new Promise<void>((r) => {
        const t = setTimeout(r, waitMs);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return { ok: true, result: ready() };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? "");
    let payload: Record<string, any> = {};
    try {
      const raw = Buffer.concat(chunks).toString("utf8");
      payload = raw ? JSON.parse(raw) : {};
    } catch {
      payload = {};
    }
    let reply: Reply;
    if (!m || m[1] !== BOT_TOKEN) reply = { ok: false, error_code: 401, description: "Unauthorized" };
    else {
      const method = m[2]!;
      this.calls.push({ method, payload });
      reply = this.failures.get(method)?.shift() ?? (method === "getUpdates" ? await this.getUpdates(payload) : this.answer(method, payload));
    }
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    res.writeHead(reply.ok ? 200 : reply.error_code, { "content-type": "application/json" });
    res.end(JSON.stringify(reply));
  }

  private answer(method: string, p: Record<string, any>): Reply {
    const date = Math.floor(Date.now() / 1000);
    switch (method) {
      case "getMe":
        return { ok: true, result: BOT_INFO };
      case "sendMessage":
      case "sendInvoice":
        return {
          ok: true,
          result: { message_id: this.nextMessageId++, date, chat: { id: p.chat_id, type: "private" }, ...(p.text ? { text: p.text } : {}) },
        };
      case "createInvoiceLink":
        return { ok: true, result: `https://t.me/$fakeInvoice${this.nextMessageId++}` };
      case "getStarTransactions": {
        const offset = Number(p.offset ?? 0);
        const limit = Number(p.limit ?? 100);
        return { ok: true, result: { transactions: this.starTransactions.slice(offset, offset + limit) } };
      }
      case "refundStarPayment": {
        const charge = String(p.telegram_payment_charge_id);
        const incoming = this.starTransactions.find((t) => t.id === charge && t.source);
        if (!incoming) return { ok: false, error_code: 400, description: "Bad Request: CHARGE_NOT_FOUND" };
        if (this.refunded.has(charge)) return { ok: false, error_code: 400, description: "Bad Request: CHARGE_ALREADY_REFUNDED" };
        this.refunded.add(charge);
        const src = incoming.source as { user: User };
        this.starTransactions.push({ id: charge, amount: incoming.amount, date, receiver: { type: "user", transaction_type: "invoice_payment", user: src.user } });
        return { ok: true, result: true };
      }
      default:
        return { ok: true, result: true };
    }
  }
}

// ------------------------------------------------------------------ update factories

let updateSeq = 100_000;
export const nextUpdateId = () => ++updateSeq;

export function tgUser(id: number, lang: "ru" | "en" = "en", first = "Ann"): User {
  return { id, is_bot: false, first_name: first, username: `user${id}`, language_code: lang };
}

const now = () => Math.floor(Date.now() / 1000);

export function textUpdate(from: User, text: string, updateId = nextUpdateId()): Update {
  const cmd = /^\/\w+/.exec(text);
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: now(),
      chat: { id: from.id, type: "private", first_name: from.first_name },
      from,
      text,
      ...(cmd ? { entities: [{ type: "bot_command", offset: 0, length: cmd[0].length }] } : {}),
    },
  } as Update;
}

export function callbackUpdate(from: User, data: string, updateId = nextUpdateId()): Update {
  return {
    update_id: updateId,
    callback_query: {
      id: `cb${updateId}`,
      from,
      chat_instance: "ci",
      data,
      message: { message_id: 1, date: now(), chat: { id: from.id, type: "private", first_name: from.first_name }, text: "menu" },
    },
  } as Update;
}

export function preCheckoutUpdate(from: User, p: { payload: string; amount: number; currency?: string }, updateId = nextUpdateId()): Update {
  return {
    update_id: updateId,
    pre_checkout_query: { id: `pcq${updateId}`, from, currency: p.currency ?? "XTR", total_amount: p.amount, invoice_payload: p.payload },
  } as Update;
}

export function paymentUpdate(from: User, p: { payload: string; amount: number; chargeId: string; currency?: string }, updateId = nextUpdateId()): Update {
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: now(),
      chat: { id: from.id, type: "private", first_name: from.first_name },
      from,
      successful_payment: {
        currency: p.currency ?? "XTR",
        total_amount: p.amount,
        invoice_payload: p.payload,
        telegram_payment_charge_id: p.chargeId,
        provider_payment_charge_id: "",
      },
    },
  } as Update;
}

export function refundUpdate(from: User, p: { payload: string; amount: number; chargeId: string }, updateId = nextUpdateId()): Update {
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: now(),
      chat: { id: from.id, type: "private", first_name: from.first_name },
      from,
      refunded_payment: { currency: "XTR", total_amount: p.amount, invoice_payload: p.payload, telegram_payment_charge_id: p.chargeId },
    },
  } as Update;
}
