import type { PaymentProvider, PaymentsConfig } from "./config.js";
import type { CreditNotices } from "./credit.js";
import { DEFAULT_YOOKASSA_IPS, IpAllowlist } from "./ip-allowlist.js";
import type { RefundGateway } from "./refunds.js";
import type { StarsReconcileReport } from "./stars-reconcile.js";
import { starsRefundGateway, type StarsApi } from "./telegram-stars.js";
import { YooKassaClient, yooKassaRefundGateway } from "./yookassa.js";

export interface TelegramWebhookResult {
  status: 200 | 401 | 500;
  result: string;
}

/** What the composition root attaches once the bot exists (the HTTP layer never sees grammY). */
export interface TelegramHooks {
  webhook(req: { secretHeader: string | null | undefined; body: string }): Promise<TelegramWebhookResult>;
  stars: StarsApi;
  /** One reconciliation pass now (admin "run reconciliation"). */
  reconcileNow(): Promise<{ stars: StarsReconcileReport | null }>;
  /** A t.me/$… payment link for a package, payable by that Telegram user only (the web top-up page). */
  invoiceLink(input: { accountId: string; userId: string; telegramId: number; packageId: string; locale: string | null }): Promise<
    { ok: true; url: string; orderId: string; expiresAt: Date } | { ok: false; reason: "unknown_package" }
  >;
}

/**
 * Per-gateway state of the payments module, built once by main/services.ts: settings resolved
 * once, the YooKassa client, the notification IP allowlist, and the Telegram hooks while a bot runs.
 */
export interface PaymentsRuntime {
  cfg: PaymentsConfig;
  yookassa: YooKassaClient | null;
  allowlist: IpAllowlist;
  readonly telegram: TelegramHooks | null;
  /** main/payments.ts attaches the bot's hooks when it starts one (null when it stops). */
  setTelegram(hooks: TelegramHooks | null): void;
  refundGateways(): Partial<Record<PaymentProvider, RefundGateway>>;
  /**
   * Passed to every crediting path (bot update, YooKassa webhook and polling, Stars reconciliation):
   * the composition root fills it (the bot's referral notice, the upstream keys' limit catch-up).
   */
  readonly notices: CreditNotices;
}

export function createPaymentsRuntime(cfg: PaymentsConfig): PaymentsRuntime {
  const yookassa = cfg.yookassa ? new YooKassaClient(cfg.yookassa) : null;
  let telegram: TelegramHooks | null = null;
  return {
    cfg,
    notices: {},
    yookassa,
    allowlist: new IpAllowlist(cfg.yookassa?.ipAllowlist ?? DEFAULT_YOOKASSA_IPS),
    get telegram() {
      return telegram;
    },
    setTelegram(hooks) {
      telegram = hooks;
    },
    refundGateways() {
      const g: Partial<Record<PaymentProvider, RefundGateway>> = {};
      if (telegram) g.tg_stars = starsRefundGateway(telegram.stars);
      if (yookassa) g.yookassa = yooKassaRefundGateway(yookassa);
      return g;
    },
  };
}
