import type { Context } from "grammy";
import type { UserFromGetMe } from "grammy/types";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import type { PaymentsConfig } from "../payments/config.js";
import type { CreditNotices } from "../payments/credit.js";

export type BotContext = Context;

export interface BotDeps {
  db: Db;
  token: string;
  /** Another Bot API server (a local one in production, a fake one in tests). */
  apiRoot?: string;
  /** Known bot info: grammY then never calls getMe (tests, and faster start-up). */
  botInfo?: UserFromGetMe;
  payments: PaymentsConfig;
  clock: Clock;
  logger: Logger;
  createApiKey?: (db: Db, input: { accountId: string; name?: string; userId?: string | null }) => Promise<{ id: string; key: string; start: string }>;
  /** Seconds after which the message carrying a new API key is deleted (BOT_KEY_MESSAGE_TTL_SEC); 0/absent = kept. */
  keyMessageTtlSec?: number;
  /** Telegram answers pre_checkout_query only within 10 s; a slow check gets a fast "no". */
  preCheckoutTimeoutMs?: number;
  maxKeysPerAccount?: number;
  usageDays?: number;
  /** API_BASE_URL (or PUBLIC_URL + /v1) and SUPPORT_CONTACT, shown in /help, hints and after key creation. */
  apiBaseUrl?: string | null;
  supportContact?: string | null;
  /** YooKassa vat_code for 54-FZ receipts on RUB provider invoices (1 = no VAT). */
  receiptVatCode?: number;
  /** Told of every payment the bot credits, beside its own referral notice (the payments runtime's notices). */
  creditNotices?: CreditNotices;
}
