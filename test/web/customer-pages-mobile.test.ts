import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { seedCustomers, visitEveryPage, type Customers } from "./helpers/customers.js";
import { startWebGateway, type WebGateway } from "./helpers/gateway.js";

/** Every customer page at 375 px in ru and en: axe-core clean, nothing scrolls sideways, screenshots. */
describe("customer pages at 375 px", { skip: !requireChromium("customer pages at 375 px") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  let c: Customers;
  before(async () => {
    [w, b] = await Promise.all([startWebGateway(), launchBrowser()]);
    c = await seedCustomers(w);
  });
  after(async () => {
    await b?.close();
    await w?.stop();
  });

  for (const locale of ["ru", "en"] as const) {
    test(`every page in ${locale}, 375 px: axe-core clean, screenshot`, async () => {
      const shots = await visitEveryPage(b, w, c, locale, true);
      assert.equal(shots.length, 13);
    });
  }
});
