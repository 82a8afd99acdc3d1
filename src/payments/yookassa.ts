import { randomUUID } from "node:crypto";
import { and, eq, inArray, lt } from "drizzle-orm";
import { AppError } from "../core/errors.js";
import type { Clock } from "../core/clock.js";
import { newId } from "../core/ids.js";
import type { Db } from "../db/client.js";
import { paymentOrders } from "../db/schema/index.js";
import { creditKopecksLabel, formatKopecks, parseKopecks } from "./rub.js";
import { creditsForKopecks, type PaymentsConfig, type YooKassaSettings } from "./config.js";
import { recordAnomaly } from "./anomalies.js";
import { creditPayment, findPayment, type CreditNotices, type CreditResult } from "./credit.js";
import { IpAllowlist } from "./ip-allowlist.js";
import { applyRefund, type RefundGateway } from "./refunds.js";

export interface YooKassaAmount {
  value: string;
  currency: string;
}

export interface YooKassaPayment {
  id: string;
  status: "pending" | "waiting_for_capture" | "succeeded" | "canceled";
  paid: boolean;
  amount: YooKassaAmount;
  confirmation?: { type: string; confirmation_url?: string };
  metadata?: Record<string, string>;
  test?: boolean;
}

export interface YooKassaRefund {
  id: string;
  payment_id: string;
  status: "pending" | "succeeded" | "canceled";
  amount: YooKassaAmount;
}

/** Thin YooKassa v3 client: Basic auth, Idempotence-Key on writes, a timeout on every call. */
export class YooKassaClient {
  constructor(
    private readonly s: Pick<YooKassaSettings, "shopId" | "secretKey" | "apiRoot">,
    private readonly opts: { timeoutMs?: number; fetch?: typeof fetch } = {},
  ) {}

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown, idempotenceKey?: string): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Basic ${Buffer.from(`${this.s.shopId}:${this.s.secretKey}`).toString("base64")}`,
      accept: "application/json",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (idempotenceKey) headers["idempotence-key"] = idempotenceKey;
    const f = this.opts.fetch ?? fetch;
    const res = await f(`${this.s.apiRoot}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    if (!res.ok) {
      const err = new YooKassaError(res.status, text.slice(0, 500));
      throw err;
    }
    return JSON.parse(text) as T;
  }

  createPayment(body: Record<string, unknown>, idempotenceKey: string): Promise<YooKassaPayment> {
    return this.call("POST", "/payments", body, idempotenceKey);
  }
  getPayment(id: string): Promise<YooKassaPayment> {
    return this.call("GET", `/payments/${encodeURIComponent(id)}`);
  }
  createRefund(body: Record<string, unknown>, idempotenceKey: string): Promise<YooKassaRefund> {
    return this.call("POST", "/refunds", body, idempotenceKey);
  }
  getRefund(id: string): Promise<YooKassaRefund> {
    return this.call("GET", `/refunds/${encodeURIComponent(id)}`);
  }
}

export class YooKassaError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`YooKassa HTTP ${status}: ${body}`);
    this.name = "YooKassaError";
  }
  /** 4xx other than 429 is our request's fault and won't succeed on retry. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 429;
  }
}

export interface WebTopup {
  orderId: string;
  paymentId: string;
  confirmationUrl: string;
  amount: string;
  creditsMicros: bigint;
}

/**
 * Dashboard top-up: an order with its own Idempotence-Key (reused when the create call is retried
 * after a network error, so YooKassa returns the same payment), then the payment id is stored on
 * the order before the user is redirected.
 */
export async function createWebTopup(
  db: Db,
  client: YooKassaClient,
  cfg: PaymentsConfig,
  input: { accountId: string; userId: string | null; amountKopecks: bigint; returnUrl?: string | null },
  clock: Clock,
): Promise<WebTopup> {
  const yk = cfg.yookassa;
  if (!yk) throw new AppError("service_unavailable", "Web top-up is not configured");
  if (input.amountKopecks < yk.minAmountMinor || input.amountKopecks > yk.maxAmountMinor) {
    throw new AppError("invalid_request", `amount must be between ${formatKopecks(yk.minAmountMinor)} and ${formatKopecks(yk.maxAmountMinor)} RUB`, { param: "amount" });
  }
  const returnUrl = input.returnUrl ?? yk.returnUrl;
  if (!returnUrl) throw new AppError("invalid_request", "return_url is required (no YOOKASSA_RETURN_URL or PUBLIC_URL configured)", { param: "return_url" });
  const now = clock.now();
  const orderId = newId("order");
  const idempotenceKey = randomUUID();
  const credits = creditsForKopecks(input.amountKopecks, cfg.rubRateMicros);
  await db.insert(paymentOrders).values({
    id: orderId,
    accountId: input.accountId,
    userId: input.userId,
    provider: "yookassa",
    currency: "RUB",
    amountMinor: input.amountKopecks,
    creditsMicros: credits,
    status: "created",
    idempotenceKey,
    expiresAt: new Date(now + 24 * 3600_000),
    createdAt: new Date(now),
    updatedAt: new Date(now),
  });
  const amount = { value: formatKopecks(input.amountKopecks), currency: "RUB" };
  const body = {
    amount,
    capture: true,
    confirmation: { type: "redirect", return_url: returnUrl },
    description: creditKopecksLabel(orderId),
    metadata: { order_id: orderId, account_id: input.accountId },
  };
  let payment: YooKassaPayment | undefined;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3 && !payment; attempt++) {
    try {
      payment = await client.createPayment(body, idempotenceKey);
    } catch (e) {
      lastErr = e;
      if (e instanceof YooKassaError && e.permanent) break;
    }
  }
  if (!payment) {
    await db.update(paymentOrders).set({ status: "canceled", updatedAt: new Date(clock.now()), meta: { error: String(lastErr) } }).where(eq(paymentOrders.id, orderId));
    throw new AppError("upstream_unavailable", "Payment provider unavailable, try again later", { cause: lastErr });
  }
  const url = payment.confirmation?.confirmation_url;
  await db
    .update(paymentOrders)
    .set({ providerPaymentId: payment.id, confirmationUrl: url ?? null, status: "pending", updatedAt: new Date(clock.now()) })
    .where(eq(paymentOrders.id, orderId));
  if (!url) throw new AppError("upstream_error", "Payment provider returned no confirmation URL");
  return { orderId, paymentId: payment.id, confirmationUrl: url, amount: amount.value, creditsMicros: credits };
}

export type NotificationOutcome =
  | { status: "credited" | "duplicate"; paymentId: string; credit: CreditResult }
  | { status: "not_succeeded"; paymentStatus: string }
  | { status: "canceled"; paymentId: string }
  | { status: "refunded" | "refund_ignored"; refundId: string }
  | { status: "rejected"; reason: string }
  | { status: "ignored"; event: string };

/**
 * A YooKassa HTTP notification. Notifications carry no signature, so (1) the sender must be in the
 * IP allowlist and (2) we act only on what `GET /payments/{id}` with our credentials says, never on
 * the body. A failed re-fetch throws (→ 5xx, YooKassa retries for 24 h).
 */
export async function handleYooKassaNotification(
  db: Db,
  client: YooKassaClient,
  cfg: PaymentsConfig,
  n: { sourceIp: string | null; body: unknown },
  allowlist: IpAllowlist,
  notices: CreditNotices = {},
): Promise<NotificationOutcome> {
  if (!allowlist.has(n.sourceIp)) throw new AppError("ip_not_allowed", "Notification source is not allowed");
  const b = n.body as { event?: unknown; object?: { id?: unknown; payment_id?: unknown } } | null;
  const event = typeof b?.event === "string" ? b.event : null;
  const objectId = typeof b?.object?.id === "string" ? b.object.id : null;
  if (!event || !objectId || objectId.length > 64) throw new AppError("invalid_request", "Malformed notification");

  if (event.startsWith("payment.")) {
    let payment: YooKassaPayment;
    try {
      payment = await client.getPayment(objectId);
    } catch (e) {
      if (e instanceof YooKassaError && e.status === 404) return { status: "rejected", reason: "unknown_payment" };
      throw new AppError("service_unavailable", "Could not verify the payment with YooKassa", { cause: e });
    }
    return settleYooKassaPayment(db, cfg, payment, "webhook", notices);
  }
  if (event === "refund.succeeded") {
    let refund: YooKassaRefund;
    try {
      refund = await client.getRefund(objectId);
    } catch (e) {
      if (e instanceof YooKassaError && e.status === 404) return { status: "rejected", reason: "unknown_refund" };
      throw new AppError("service_unavailable", "Could not verify the refund with YooKassa", { cause: e });
    }
    if (refund.status !== "succeeded") return { status: "refund_ignored", refundId: refund.id };
    return applyYooKassaRefund(db, refund);
  }
  return { status: "ignored", event };
}

/** Acts on a payment object fetched from YooKassa (notification or polling). */
export async function settleYooKassaPayment(db: Db, cfg: PaymentsConfig, payment: YooKassaPayment, source: "webhook" | "poll", notices: CreditNotices = {}): Promise<NotificationOutcome> {
  const orderId = payment.metadata?.order_id;
  if (payment.status === "canceled") {
    if (orderId) {
      await db
        .update(paymentOrders)
        .set({ status: "canceled", updatedAt: new Date() })
        .where(and(eq(paymentOrders.id, orderId), eq(paymentOrders.providerPaymentId, payment.id), inArray(paymentOrders.status, ["created", "pending"])));
    }
    return { status: "canceled", paymentId: payment.id };
  }
  if (payment.status !== "succeeded" || payment.paid !== true) return { status: "not_succeeded", paymentStatus: payment.status };
  if (!orderId) return { status: "rejected", reason: "no_order_id" };
  let kopecks: bigint;
  try {
    kopecks = parseKopecks(payment.amount.value);
  } catch {
    return { status: "rejected", reason: "bad_amount" };
  }
  const credit = await creditPayment(
    db,
    { provider: "yookassa", providerPaymentId: payment.id, orderId, currency: payment.amount.currency, amountMinor: kopecks, source, actor: "system:yookassa" },
    { ...notices, referralBasisPoints: cfg.referralBasisPoints },
  );
  if (credit.status === "rejected") return { status: "rejected", reason: credit.reason };
  return { status: credit.status, paymentId: payment.id, credit };
}

async function applyYooKassaRefund(db: Db, refund: YooKassaRefund): Promise<NotificationOutcome> {
  const payment = await findPayment(db, "yookassa", refund.payment_id);
  if (!payment) return { status: "rejected", reason: "refund_of_unknown_payment" };
  let kopecks: bigint;
  try {
    kopecks = parseKopecks(refund.amount.value);
  } catch {
    return { status: "rejected", reason: "bad_amount" };
  }
  // Only a full refund reverses a top-up; a partial one goes to support.
  if (kopecks !== payment.amountMinor) {
    await recordAnomaly(db, { provider: "yookassa", ref: refund.payment_id, reason: "partial_refund", details: { refundId: refund.id, amount: refund.amount.value } });
    return { status: "refund_ignored", refundId: refund.id };
  }
  const r = await applyRefund(db, { provider: "yookassa", providerPaymentId: refund.payment_id, actor: "system:yookassa", source: "webhook" });
  return { status: r.status === "refunded" ? "refunded" : "refund_ignored", refundId: refund.id };
}

/** Pending web orders older than `minAgeMs`: ask YooKassa, credit what succeeded (missed notifications). */
export async function pollPendingYooKassaOrders(
  db: Db,
  client: YooKassaClient,
  cfg: PaymentsConfig,
  clock: Clock,
  opts: { minAgeMs?: number; notices?: CreditNotices } = {},
): Promise<{ checked: number; credited: number }> {
  const minAgeMs = opts.minAgeMs ?? 10 * 60_000;
  const rows = await db
    .select({ id: paymentOrders.id, providerPaymentId: paymentOrders.providerPaymentId })
    .from(paymentOrders)
    .where(and(eq(paymentOrders.provider, "yookassa"), eq(paymentOrders.status, "pending"), lt(paymentOrders.updatedAt, new Date(clock.now() - minAgeMs))))
    .limit(100);
  let credited = 0;
  for (const o of rows) {
    if (!o.providerPaymentId) continue;
    try {
      const p = await client.getPayment(o.providerPaymentId);
      const r = await settleYooKassaPayment(db, cfg, p, "poll", opts.notices);
      if (r.status === "credited") credited++;
    } catch {
      /* next run */
    }
  }
  return { checked: rows.length, credited };
}

/** YooKassa side of an admin refund: a full refund with a stable Idempotence-Key per payment. */
export function yooKassaRefundGateway(client: YooKassaClient): RefundGateway {
  return {
    async refund(p) {
      try {
        const r = await client.createRefund(
          { payment_id: p.providerPaymentId, amount: { value: formatKopecks(p.amountMinor), currency: p.currency } },
          `refund-${p.id}`,
        );
        if (r.status === "succeeded") return { ok: true };
        if (r.status === "pending") return { ok: false, pending: true };
        return { ok: false, error: `refund ${r.status}` };
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
  };
}
