import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { confirmTelegramLink, startTelegramLink } from "../../src/accounts/telegram-login.js";
import { telegramWidgetHash } from "../../src/accounts/telegram-widget.js";
import { assertAccessible } from "./helpers/axe.js";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { settled } from "./helpers/customers.js";
import { logInThroughUi, startWebGateway, type WebGateway } from "./helpers/gateway.js";
import { screenshot } from "./helpers/screenshots.js";

const BOT = "5123456:TEST-browser-widget-token";

/**
 * The Login Widget in the browser with Telegram's script replaced by a stub: the stub's
 * `Telegram.Login.auth` answers at once with fields this test signs with the bot token, as
 * Telegram's confirmation window would. The stub is served only if the page's CSP lets the
 * browser ask telegram.org for it at all.
 */
describe("Telegram Login Widget in the browser", { skip: !requireChromium("Telegram Login Widget") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  before(async () => {
    [w, b] = await Promise.all([startWebGateway({ env: { TELEGRAM_BOT_TOKEN: BOT, TELEGRAM_BOT_USERNAME: "gw_browser_bot", TELEGRAM_MODE: "off" } }), launchBrowser()]);
  });
  after(async () => {
    await b?.close();
    await w?.stop();
  });

  /** A page whose telegram.org script is the stub; `next()` gives the fields its next auth answers with. */
  async function widgetPage(locale: "ru" | "en", next: () => Record<string, string>, mobile = false) {
    const page = await b.page({ locale, mobile });
    const asked: string[] = [];
    await page.route("https://telegram.org/**", async (route) => {
      asked.push(route.request().url());
      const fields = next();
      const user = { ...fields, hash: telegramWidgetHash(fields, BOT) };
      const body = `window.Telegram = { Login: { auth: function (opts, cb) { window.__tgAuthOptions = opts; setTimeout(function () { cb(${JSON.stringify(user)}); }, 10); } } };`;
      await route.fulfill({ status: 200, contentType: "text/javascript", body });
    });
    return { page, asked };
  }
  const now = () => Math.floor(Date.now() / 1000);
  const button = (page: Page, locale: "ru" | "en") => page.getByRole("button", { name: locale === "ru" ? "Войти через Telegram" : "Log in with Telegram", exact: true });

  test("a new Telegram user signs up from the login page (ru); only the login page's CSP allows telegram.org", async () => {
    const { page, asked } = await widgetPage("ru", () => ({ id: "7300001", first_name: "Тимур", username: "timur", auth_date: String(now() - 1) }));
    const res = await page.goto(`${w.app}/login`);
    const csp = res!.headers()["content-security-policy"]!;
    assert.match(csp, /script-src 'self' https:\/\/telegram\.org;/);
    assert.match(csp, /frame-src https:\/\/oauth\.telegram\.org/);
    assert.equal(/script-src ([^;]*)/.exec(csp)?.[1], "'self' https://telegram.org", "no eval, no inline script");
    const other = await fetch(`${w.app}/keys`);
    assert.doesNotMatch(other.headers.get("content-security-policy")!, /telegram/, "other pages keep the strict CSP");
    await settled(page);
    await button(page, "ru").waitFor();
    await page.locator('[data-testid="telegram-widget-login"]:enabled').waitFor();
    await assertAccessible(page, "login with the Telegram widget (ru)");
    await screenshot(page, "login-telegram", { locale: "ru", mobile: false });
    await button(page, "ru").click();
    await page.getByRole("heading", { level: 1, name: "Обзор" }).waitFor();
    assert.equal(asked.length, 1);
    assert.deepEqual(await page.evaluate("window.__tgAuthOptions"), { bot_id: "5123456", request_access: "write", lang: "ru" });
    // The session survives a reload (refresh cookie) and belongs to that Telegram id.
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Обзор" }).waitFor();
    await page.goto(`${w.app}/settings`);
    await page.getByText("7300001").first().waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test("data older than the setting is refused with the gateway's message and the page stays on login (en)", async () => {
    const { page } = await widgetPage("en", () => ({ id: "7300002", first_name: "Old", auth_date: String(now() - 7200) }));
    await page.goto(`${w.app}/login`);
    await button(page, "en").click();
    await page.getByRole("alert").filter({ hasText: "too old" }).waitFor();
    assert.match(new URL(page.url()).pathname, /\/login$/);
    await page.context().close();
  });

  test("after logging out the login page reloads itself so the widget can load, and signs in the linked e-mail user (375 px)", async () => {
    const u = await w.registerUser("tg-linked@example.com");
    const link = await startTelegramLink(w.gw.gateway.deps.db, u.userId, { ttlSec: 300, nowMs: Date.now() });
    assert.equal((await confirmTelegramLink(w.gw.gateway.deps.db, link.nonce, { id: 7300003, firstName: "Linked" })).ok, true);
    const { page, asked } = await widgetPage("en", () => ({ id: "7300003", first_name: "Linked", auth_date: String(now() - 1) }), true);
    await logInThroughUi(page, w.app, "tg-linked@example.com");
    assert.equal(asked.length, 1, "the login page loaded the widget once");
    // A document served for another page has the strict CSP; the login page reached from it reloads.
    await page.goto(`${w.app}/keys`);
    await settled(page);
    assert.equal(asked.length, 1, "no Telegram script outside the login page");
    await page.getByRole("button", { name: "Menu" }).click();
    await page.getByRole("button", { name: "Log out" }).last().click();
    await button(page, "en").waitFor();
    await page.locator('[data-testid="telegram-widget-login"]:enabled').waitFor();
    assert.equal(asked.length, 2, "loaded again by the reloaded login page");
    assert.equal(await page.evaluate<number>("document.documentElement.scrollWidth"), 375);
    await screenshot(page, "login-telegram", { locale: "en", mobile: true });
    await button(page, "en").click();
    // Back where the session ended.
    await page.getByRole("heading", { level: 1, name: "API keys" }).waitFor();
    await page.goto(`${w.app}/settings`);
    await page.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
    assert.equal(await page.getByLabel("Email", { exact: true }).inputValue(), "tg-linked@example.com");
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
