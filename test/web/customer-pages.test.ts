import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { seedCustomers, visitEveryPage, type Customers } from "./helpers/customers.js";
import { startWebGateway, type WebGateway } from "./helpers/gateway.js";

/** Every customer page with data in it, on the desktop: axe-core clean and a screenshot in ru and en (375 px: customer-pages-mobile.test.ts). */
describe("customer pages", { skip: !requireChromium("customer pages") }, () => {
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
    test(`every page in ${locale}, desktop: axe-core clean, screenshot`, async () => {
      const shots = await visitEveryPage(b, w, c, locale, false);
      assert.equal(shots.length, 12);
    });
  }
});
