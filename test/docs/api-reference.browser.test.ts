import assert from "node:assert/strict";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPgliteDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { launchOfflineBrowser, requireChromium, type OfflineBrowser } from "../helpers/offline-browser.js";

// Screenshots land here so a person (or the lead) can look at them after the run.
const SHOTS = process.env.SCREENSHOT_DIR ?? join(process.cwd(), "test-results");

describe("API reference pages render offline in Chromium", { skip: !requireChromium("api reference") }, () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let browser: OfflineBrowser;
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    db = await createPgliteDb();
    gw = await startTestGateway({ database: db });
    browser = await launchOfflineBrowser();
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
    await db?.drop();
  });

  it("serves the bundles itself, with a same-origin-only CSP", async () => {
    const page = await fetch(gw.url + "/docs");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\//, "the page must not reference another origin");
    for (const asset of ["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/redoc/assets/redoc.standalone.js"]) {
      const r = await fetch(gw.url + asset);
      assert.equal(r.status, 200, asset);
      assert.ok((await r.arrayBuffer()).byteLength > 10_000, `${asset} is the real bundle`);
    }
  });

  it("/docs (Swagger UI) lists the operations", async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(gw.url + "/docs", { waitUntil: "load" });
    await page.waitForSelector(".opblock", { timeout: 30_000 });
    const title = await page.textContent(".info .title");
    assert.match(title ?? "", /LLM Gateway API/);
    const ops = await page.locator(".opblock-summary-path").allTextContents();
    assert.ok(ops.some((p) => p.includes("/v1/chat/completions")), `chat completions listed (got ${ops.length} operations)`);
    const shot = join(SHOTS, "docs-swagger.png");
    await page.screenshot({ path: shot, fullPage: false });
    assert.ok(statSync(shot).size > 20_000, "a real screenshot, not a blank page");
    assert.deepEqual(errors, []);
    assert.deepEqual(browser.blocked, [], "no request left the machine");
    await page.close();
  });

  it("/redoc (ReDoc) renders the reference", async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(gw.url + "/redoc", { waitUntil: "load" });
    await page.waitForSelector(".api-content h1", { timeout: 30_000 });
    assert.match((await page.textContent(".api-content h1")) ?? "", /LLM Gateway API/);
    const menu = await page.locator("[role=menuitem], .menu-content label").allTextContents();
    assert.ok(menu.length > 5, `the side menu lists operations (got ${menu.length})`);
    const shot = join(SHOTS, "docs-redoc.png");
    await page.screenshot({ path: shot, fullPage: false });
    assert.ok(statSync(shot).size > 20_000, "a real screenshot, not a blank page");
    assert.deepEqual(errors, []);
    assert.deepEqual(browser.blocked, [], "no request left the machine");
    await page.close();
  });
});
