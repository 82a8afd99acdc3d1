import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { assertAccessible } from "./helpers/axe.js";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { call, seedCustomers, settled, type Customers } from "./helpers/customers.js";
import { logInThroughUi, startWebGateway, type WebGateway } from "./helpers/gateway.js";
import { screenshot } from "./helpers/screenshots.js";

const LABELS = {
  en: { payments: ["When", "Method", "Amount", "Credited", "Status"], ledger: ["When", "Reason", "Change", "Balance after"], pending: "Pending" },
  ru: { payments: ["Когда", "Способ", "Сумма", "Зачислено", "Статус"], ledger: ["Когда", "Причина", "Изменение", "Баланс после"], pending: "Ожидает оплаты" },
} as const;

/** Elements inside <main> that scroll sideways (a table frame at 375 px would be one). */
function sidewaysScrollers(page: Page) {
  return page.evaluate<{ page: number; inner: string[] }>(`(() => {
    const inner = [...document.querySelectorAll("main *")].filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible").map((el) => el.outerHTML.slice(0, 80));
    return { page: document.documentElement.scrollWidth, inner };
  })()`);
}

/** The top-up page's payments and balance history: cards (label: value) at 375 px, tables at 1280 px. */
describe("top-up page: payments and balance history as cards on phones", { skip: !requireChromium("top-up cards") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  let c: Customers;
  let orders = 0;
  let entries = 0;
  before(async () => {
    [w, b] = await Promise.all([startWebGateway(), launchBrowser()]);
    c = await seedCustomers(w);
    orders = (await call(w, c.A.token, "/v1/client/payments?limit=50")).body.data.length;
    entries = (await call(w, c.A.token, "/v1/client/ledger?limit=25")).body.data.length;
    // A paid and a pending top-up; the paid one, the usage and the referral bonus on the ledger.
    assert.equal(orders, 2);
    assert.ok(entries >= 3, `ledger has ${entries} entries`);
  });
  after(async () => {
    await b?.close();
    await w?.stop();
  });

  for (const locale of ["en", "ru"] as const) {
    test(`375 px (${locale}): one card per row with labelled values, no table, nothing scrolls sideways`, async () => {
      const l = LABELS[locale];
      const page = await b.page({ locale, mobile: true });
      await logInThroughUi(page, w.app, c.A.email);
      await page.goto(`${w.app}/billing`);
      await settled(page);
      await page.locator("[data-order-card]").first().waitFor();
      assert.equal(await page.locator("[data-order-card]").count(), orders);
      assert.equal(await page.locator("[data-ledger-card]").count(), entries);
      assert.equal(await page.getByRole("table").count(), 0, "no table is shown at 375 px");
      assert.equal(await page.locator("tr[data-order-id]").first().isVisible(), false);
      // Each card lists every column's label with its value.
      const pending = page.locator("[data-order-card]", { hasText: l.pending });
      assert.equal(await pending.count(), 1, "the pending order's card");
      assert.deepEqual(await pending.locator("dt").allTextContents(), l.payments);
      assert.equal((await pending.locator("dd").nth(2).textContent())?.replace(/\s/g, " "), locale === "en" ? "₽300.00" : "300,00 ₽");
      const usage = page.locator('[data-ledger-card="usage"]').first();
      assert.deepEqual(await usage.locator("dt").allTextContents(), l.ledger);
      assert.equal(await page.getByRole("list", { name: locale === "en" ? "Payments" : "Платежи" }).count(), 1);
      assert.equal(await page.getByRole("list", { name: locale === "en" ? "Balance history" : "История баланса" }).count(), 1);
      const overflow = await sidewaysScrollers(page);
      assert.ok(overflow.page <= 375, `page is ${overflow.page} px wide`);
      assert.deepEqual(overflow.inner, [], "nothing scrolls sideways, not even inside a card");
      await assertAccessible(page, `top-up cards (${locale}, 375 px)`);
      await screenshot(page, "billing-cards", { locale, mobile: true });
      assert.deepEqual(page.errors, []);
      await page.context().close();
    });
  }

  test("1280 px: the tables, no cards", async () => {
    const page = await b.page({ locale: "en" });
    await logInThroughUi(page, w.app, c.A.email);
    await page.goto(`${w.app}/billing`);
    await settled(page);
    await page.locator("tr[data-order-id]").first().waitFor();
    assert.equal(await page.getByRole("table").count(), 2);
    assert.equal(await page.locator("tr[data-order-id]").count(), orders);
    assert.equal(await page.locator("tr[data-ledger-kind]").count(), entries);
    assert.equal(await page.locator("[data-order-card]").first().isVisible(), false);
    assert.equal(await page.locator("[data-ledger-card]").first().isVisible(), false);
    assert.deepEqual(await page.getByRole("region", { name: "Payments" }).locator("th").allTextContents(), LABELS.en.payments);
    assert.deepEqual(await page.getByRole("region", { name: "Balance history" }).locator("th").allTextContents(), LABELS.en.ledger);
    await assertAccessible(page, "top-up tables (en, 1280 px)");
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
