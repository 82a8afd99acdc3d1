import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { pino } from "pino";
import { findOrCreateTelegramAccount } from "../../src/accounts/telegram-user.js";
import { lowBalanceMessage } from "../../src/bot/bot.js";
import type { Db } from "../../src/db/client.js";
import { accounts } from "../../src/db/schema/index.js";
import { checkLowBalances } from "../../src/jobs/low-balance-notifier.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";

test("low-balance message in both languages", () => {
  assert.equal(lowBalanceMessage("en", 4_500_000n, 10_000_000n, "RUB"), "Low balance: ₽4.50 left (alert threshold ₽10.00). Top up with /pay.");
  assert.equal(lowBalanceMessage("ru", 4_500_000n, 10_000_000n, "RUB"), "Низкий баланс: осталось 4,50\u00a0₽ (порог уведомления 10,00\u00a0₽). Пополните через /pay.");
});

describeEachDb("low-balance notifier", (_kind, create) => {
  let database: TestDatabase;
  let db: Db;
  const logger = pino({ level: "silent" });
  before(async () => {
    database = await create();
    db = database.db;
  });
  after(async () => {
    await database.drop();
  });

  test("notifies the linked chat once per crossing and re-arms when the balance recovers", async () => {
    const a = await findOrCreateTelegramAccount(db, { id: 5001, first_name: "Low", language_code: "ru" });
    await findOrCreateTelegramAccount(db, { id: 5002, first_name: "NoThreshold" });
    const sent: { chat: number; text: string }[] = [];
    const notify = async (chat: number, locale: string | null, avail: bigint, thr: bigint) => {
      sent.push({ chat, text: lowBalanceMessage(locale, avail, thr, "RUB") });
    };
    const setBal = (b: bigint, reserved = 0n) => db.update(accounts).set({ balanceMicros: b, reservedMicros: reserved }).where(eq(accounts.id, a.accountId));
    await db.update(accounts).set({ lowBalanceThresholdMicros: 10_000_000n }).where(eq(accounts.id, a.accountId));

    await setBal(50_000_000n);
    await checkLowBalances(db, notify, logger);
    assert.equal(sent.length, 0, "above the threshold");
    await setBal(50_000_000n, 45_000_000n); // spendable 5 ₽: reserved money counts as spent
    await checkLowBalances(db, notify, logger);
    await checkLowBalances(db, notify, logger);
    await setBal(3_000_000n);
    await checkLowBalances(db, notify, logger);
    assert.deepEqual(sent, [{ chat: 5001, text: "Низкий баланс: осталось 5,00\u00a0₽ (порог уведомления 10,00\u00a0₽). Пополните через /pay." }]);
    await setBal(20_000_000n);
    const r = await checkLowBalances(db, notify, logger);
    assert.equal(r.rearmed, 1);
    await setBal(1_000_000n);
    await checkLowBalances(db, notify, logger);
    assert.equal(sent.length, 2, "second crossing, second notice");

    // Delivery failed to every chat → the crossing is retried on the next run.
    await setBal(20_000_000n);
    await checkLowBalances(db, notify, logger);
    await setBal(1_000_000n);
    let fail = true;
    const flaky = async (...args: Parameters<typeof notify>) => {
      if (fail) throw new Error("telegram down");
      await notify(...args);
    };
    await checkLowBalances(db, flaky, logger);
    assert.equal(sent.length, 2);
    fail = false;
    await checkLowBalances(db, flaky, logger);
    assert.equal(sent.length, 3);
  });
});
