import { and, eq, sql } from "drizzle-orm";
import { pino, type Logger } from "pino";
import { loadEnv } from "../../src/config/env.js";
import { createBot } from "../../src/bot/bot.js";
import { findTelegramAccount } from "../../src/accounts/telegram-user.js";
import type { Db } from "../../src/db/client.js";
import { accounts, ledgerEntries, paymentOrders, payments } from "../../src/db/schema/index.js";
import { paymentsSettings as paymentsConfigFromEnv } from "../../src/main/settings.js";
import { BOT_INFO, BOT_TOKEN, FakeTelegram, callbackUpdate, type RecordedCall } from "../helpers/fake-telegram.js";
import type { TestDatabase } from "../helpers/db.js";
import type { Update, User } from "grammy/types";

export interface Harness {
  database: TestDatabase;
  db: Db;
  tg: FakeTelegram;
  bot: ReturnType<typeof createBot>;
  cfg: ReturnType<typeof paymentsConfigFromEnv>;
  clock: { t: number; now(): number };
  logs: Record<string, unknown>[];
  logger: Logger;
  send(u: Update): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  create: () => Promise<TestDatabase>,
  env: Record<string, string> = {},
  botOpts: Partial<Parameters<typeof createBot>[0]> = {},
): Promise<Harness> {
  const database = await create();
  const tg = new FakeTelegram();
  await tg.start();
  const cfg = paymentsConfigFromEnv(loadEnv({ BILLING_CURRENCY: "RUB", PAYMENTS_STAR_RATE: "1.5", REFERRAL_PERCENT: "10", ...env }));
  const clock = {
    t: Date.now(),
    now() {
      return this.t;
    },
  };
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug", base: undefined }, { write: (s: string) => void logs.push(JSON.parse(s)) });
  const bot = createBot({ db: database.db, token: BOT_TOKEN, apiRoot: tg.apiRoot, botInfo: BOT_INFO, payments: cfg, clock, logger, ...botOpts });
  return {
    database,
    db: database.db,
    tg,
    bot,
    cfg,
    clock,
    logs,
    logger,
    send: (u) => bot.handleUpdate(u),
    close: async () => {
      await tg.close();
      await database.drop();
    },
  };
}

/** /pay button → the sendInvoice call it produced. */
export async function requestInvoice(h: Harness, user: User, pkgId: string): Promise<{ orderId: string; amount: number; call: RecordedCall }> {
  const before = h.tg.callsOf("sendInvoice").length;
  await h.send(callbackUpdate(user, `pay:${pkgId}`));
  const calls = h.tg.callsOf("sendInvoice");
  if (calls.length !== before + 1) throw new Error(`expected one sendInvoice, got ${calls.length - before}`);
  const call = calls.at(-1)!;
  return { orderId: String(call.payload.payload), amount: Number(call.payload.prices[0].amount), call };
}

export async function accountIdOf(db: Db, telegramId: number): Promise<string> {
  const a = await findTelegramAccount(db, telegramId);
  if (!a) throw new Error(`no account for ${telegramId}`);
  return a.accountId;
}

export async function balanceOf(db: Db, accountId: string): Promise<bigint> {
  return (await db.select({ b: accounts.balanceMicros }).from(accounts).where(eq(accounts.id, accountId)))[0]!.b;
}

export async function ledgerCount(db: Db, kind: string, ref?: string): Promise<number> {
  const rows = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(ledgerEntries)
    .where(ref ? and(eq(ledgerEntries.kind, kind), eq(ledgerEntries.ref, ref)) : eq(ledgerEntries.kind, kind));
  return Number(rows[0]!.n);
}

/** Ledger is the truth: every account's balance equals the sum of its ledger rows. */
export async function ledgerDrift(db: Db): Promise<number> {
  const rows = await db.execute(
    sql`select count(*)::int as n from accounts a where a.balance_micros <> coalesce((select sum(amount_micros) from ledger_entries l where l.account_id = a.id), 0)`,
  );
  const r = (rows as unknown as { rows?: { n: number }[] }).rows ?? (rows as unknown as { n: number }[]);
  return Number(r[0]!.n);
}

export async function paymentRow(db: Db, chargeId: string) {
  return (await db.select().from(payments).where(eq(payments.providerPaymentId, chargeId)))[0] ?? null;
}

export async function orderRow(db: Db, id: string) {
  return (await db.select().from(paymentOrders).where(eq(paymentOrders.id, id)))[0] ?? null;
}
