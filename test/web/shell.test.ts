import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertAccessible } from "./helpers/axe.js";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { PASSWORD, startWebGateway, type WebGateway } from "./helpers/gateway.js";

/** The web app's frame: served by the gateway, deep links, sessions across reloads, language. */
describe("web app shell", { skip: !requireChromium("web app shell") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  before(async () => {
    [w, b] = await Promise.all([startWebGateway(), launchBrowser()]);
  });
  after(async () => {
    await b?.close();
    await w?.stop();
  });

  test("the gateway serves the app on its own port: index for deep links, assets cached, a missing asset is a 404", async () => {
    for (const path of ["/dashboard", "/dashboard/", "/dashboard/activity/req_123", "/dashboard/admin/accounts"]) {
      const r = await fetch(w.gw.url + path);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get("content-type") ?? "", /text\/html/);
      assert.match(r.headers.get("content-security-policy") ?? "", /default-src 'self'/);
      assert.match(await r.text(), /<div id="root">/);
    }
    const html = await (await fetch(`${w.gw.url}/dashboard/`)).text();
    const js = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(js, "index.html references a hashed bundle");
    const asset = await fetch(w.gw.url + js);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
    assert.equal((await fetch(`${w.gw.url}/dashboard/assets/nope-123.js`)).status, 404);
    assert.equal((await fetch(`${w.gw.url}/dashboard/../package.json`)).status !== 200 || !(await (await fetch(`${w.gw.url}/dashboard/%2e%2e/package.json`)).text()).includes('"name"'), true);
  });

  test("a deep link without a session shows the login page; after sign-up the session survives a reload; language switches", async () => {
    const page = await b.page({ locale: "ru" });
    await page.goto(`${w.app}/keys`);
    await page.waitForURL(/\/dashboard\/login\?next=%2Fkeys/);
    assert.equal(await page.locator("h1").textContent(), "Вход в аккаунт", "Russian from the browser");
    assert.equal(await page.evaluate("document.documentElement.lang"), "ru");
    await assertAccessible(page, "login (ru)");

    await page.getByRole("link", { name: "Зарегистрироваться" }).click();
    await page.waitForURL(/\/dashboard\/signup/);
    await page.locator('input[name="email"]').fill("shell@example.com");
    await page.locator('input[name="password"]').fill(PASSWORD);
    await page.locator('form button[type="submit"]').click();
    await page.waitForURL(/\/dashboard\/keys$/);
    await page.getByRole("heading", { level: 1, name: "API-ключи" }).waitFor();

    // No token in storage: the access token lives in memory, the refresh token in an httpOnly cookie.
    const stored = await page.evaluate<string>("[...Object.values(localStorage), ...Object.values(sessionStorage)].join(' ')");
    assert.doesNotMatch(stored, /eyJ|rt_/, "no token in web storage");
    assert.doesNotMatch(await page.evaluate<string>("document.cookie"), /lg_rt|lg_at/, "no token readable by scripts");
    const cookies = await page.context().cookies();
    assert.equal(cookies.find((c) => c.name === "lg_rt")?.httpOnly, true);
    assert.equal(cookies.some((c) => c.name === "lg_at"), false, "no access-token cookie in web mode");

    await page.reload();
    await page.getByRole("heading", { level: 1, name: "API-ключи" }).waitFor();

    await page.getByRole("button", { name: "EN" }).click();
    await page.getByRole("heading", { level: 1, name: "API keys" }).waitFor();
    assert.equal(await page.evaluate("document.documentElement.lang"), "en");
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "API keys" }).waitFor();
    assert.deepEqual(page.errors, []);
  });
});
