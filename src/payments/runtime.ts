import type { Env } from "../config/env.js";
import { paymentsConfigFromEnv, type PaymentProvider, type PaymentsConfig } from "./config.js";
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
  reconcileNow(): Promise<{ stars: StarsReconcileReport | null } & Record<string, unknown>>;
}

/**
 * Per-gateway state of the payments module, keyed by the gateway's deps object (as accounts'
 * authRuntime): settings resolved once, the YooKassa client, the notification IP allowlist, and the
 * Telegram hooks when a bot runs.
 */
export interface PaymentsRuntime {
  cfg: PaymentsConfig;
  yookassa: YooKassaClient | null;
  allowlist: IpAllowlist;
  telegram: TelegramHooks | null;
  refundGateways(): Partial<Record<PaymentProvider, RefundGateway>>;
}

const runtimes = new WeakMap<object, PaymentsRuntime>();

export function paymentsRuntime(deps: { env: Env }): PaymentsRuntime {
  let rt = runtimes.get(deps);
  if (rt) return rt;
  const cfg = paymentsConfigFromEnv(deps.env);
  const yookassa = cfg.yookassa ? new YooKassaClient(cfg.yookassa) : null;
  const runtime: PaymentsRuntime = {
    cfg,
    yookassa,
    allowlist: new IpAllowlist(cfg.yookassa?.ipAllowlist ?? DEFAULT_YOOKASSA_IPS),
    telegram: null,
    refundGateways() {
      const g: Partial<Record<PaymentProvider, RefundGateway>> = {};
      if (runtime.telegram) g.tg_stars = starsRefundGateway(runtime.telegram.stars);
      if (yookassa) g.yookassa = yooKassaRefundGateway(yookassa);
      return g;
    },
  };
  runtimes.set(deps, runtime);
  return runtime;
}

export function attachTelegram(deps: { env: Env }, hooks: TelegramHooks | null): void {
  paymentsRuntime(deps).telegram = hooks;
}
