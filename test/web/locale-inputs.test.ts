import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertAccessible } from "./helpers/axe.js";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { call, settled } from "./helpers/customers.js";
import { logInThroughUi, startWebGateway, type WebGateway } from "./helpers/gateway.js";
import { screenshot } from "./helpers/screenshots.js";

/**
 * Dates are typed the way the app's language writes them, not the browser's (the browser here runs
 * in English; the app in Russian), and the API-keys list at 375 px is cards, not a table that
 * scrolls sideways.
 */
describe("date inputs follow the app language; API keys at 375 px", { skip: !requireChromium("locale inputs") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  let token = "";
  before(async () => {
    [w, b] = await Promise.all([startWebGateway(), launchBrowser()]);
    token = (await w.registerUser("dates@example.com")).accessToken;
    for (const name of ["backend-with-a-rather-long-name", "old"]) {
      const r = await call(w, token, "/v1/auth/api-keys", { body: { name, limits: { daily_money: "200.00", monthly_tokens: 5_000_000 }, allowed_models: ["openai/gpt-4o-mini", "openai/gpt-4o"] } });
      assert.equal(r.status, 201);
    }
  });
  after(async () => {
    await b?.close();
    await w?.stop();
  });

  test("an English browser with the app in Russian: ДД.ММ.ГГГГ in Activity and the key form; switching to English rewrites the dates", async () => {
    const page = await b.page({ locale: "en" });
    await logInThroughUi(page, w.app, "dates@example.com");
    assert.equal(await page.evaluate("navigator.language"), "en-US");
    await page.getByRole("button", { name: "RU", exact: true }).click();
    await page.goto(`${w.app}/activity`);
    await settled(page);
    const from = page.getByLabel("С", { exact: true });
    assert.equal(await from.getAttribute("placeholder"), "ДД.ММ.ГГГГ");
    await from.fill("05.11.2026");
    await page.getByLabel("По", { exact: true }).fill("31.12.2026");
    await page.getByRole("button", { name: "Применить" }).click();
    await page.waitForURL((u) => u.searchParams.get("from") === "2026-11-05" && u.searchParams.get("to") === "2026-12-31");
    await page.reload();
    await settled(page);
    assert.equal(await page.getByLabel("С", { exact: true }).inputValue(), "05.11.2026", "shown back in Russian order after a reload");

    // Not a date in this format: the field says how to write it and the filter is not sent.
    await page.getByLabel("С", { exact: true }).fill("11/05/2026");
    assert.equal(await page.getByLabel("С", { exact: true }).getAttribute("aria-invalid"), "true");
    await page.getByText("Введите в формате ДД.ММ.ГГГГ.").waitFor();
    await assertAccessible(page, "activity with an invalid date (ru)");

    await page.getByRole("button", { name: "EN", exact: true }).click();
    await page.getByLabel("From", { exact: true }).waitFor();
    await page.reload();
    await settled(page);
    assert.equal(await page.getByLabel("From", { exact: true }).getAttribute("placeholder"), "MM/DD/YYYY");
    assert.equal(await page.getByLabel("From", { exact: true }).inputValue(), "11/05/2026");

    // The key form's expiry, typed in Russian, reaches the API as that calendar day.
    await page.getByRole("button", { name: "RU", exact: true }).click();
    await page.goto(`${w.app}/keys`);
    await settled(page);
    await page.getByRole("button", { name: "Создать ключ" }).first().click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Название", { exact: true }).fill("dated");
    await dlg.getByLabel("Действует до", { exact: true }).fill("31.12.2027");
    await dlg.getByRole("button", { name: "Создать ключ" }).click();
    await page.getByRole("dialog").getByText(/sk-gw-/).first().waitFor();
    const keys = await call(w, token, "/v1/auth/api-keys");
    const dated = keys.body.data.find((k: { name: string }) => k.name === "dated");
    assert.ok(dated, "the key was created");
    // The end of that day in the billing zone (Europe/Moscow, UTC+3), whatever zone the browser is in.
    assert.match(dated.expires_at, /^2027-12-31T20:59:59/);
    await page.getByRole("dialog").getByRole("button", { name: "Закрыть" }).first().click();
    await page.locator("[data-key-id]").filter({ hasText: "dated" }).getByText("Действует до: 31 дек. 2027 г.").waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  for (const locale of ["ru", "en"] as const) {
    test(`API keys at 375 px (${locale}): cards, nothing scrolls sideways, not even inside the list`, async () => {
      const page = await b.page({ locale, mobile: true });
      await logInThroughUi(page, w.app, "dates@example.com");
      await page.goto(`${w.app}/keys`);
      await settled(page);
      await page.locator("[data-key-card]").first().waitFor();
      assert.equal(await page.locator("[data-key-card]").count(), 3);
      assert.equal(await page.getByRole("table").count(), 0, "the table is not shown at 375 px");
      const overflow = await page.evaluate<{ page: number; inner: string[] }>(`(() => {
        const inner = [...document.querySelectorAll("main *")].filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible").map((el) => el.outerHTML.slice(0, 80));
        return { page: document.documentElement.scrollWidth, inner };
      })()`);
      assert.ok(overflow.page <= 375, `page is ${overflow.page} px wide`);
      assert.deepEqual(overflow.inner, [], "no element scrolls sideways");
      await assertAccessible(page, `keys cards (${locale}, 375 px)`);
      await screenshot(page, "keys-cards", { locale, mobile: true });
      // The card's buttons work like the table's: disable a key.
      const card = page.locator("[data-key-card]").filter({ hasText: locale === "ru" ? "old" : "backend-with-a-rather-long-name" });
      await card.getByRole("button", { name: locale === "ru" ? /^Отключить/ : /^Disable/ }).click();
      await card.getByText(locale === "ru" ? "Отключён" : "Disabled", { exact: true }).waitFor();
      assert.deepEqual(page.errors, []);
      await page.context().close();
    });
  }
});
