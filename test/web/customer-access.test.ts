import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { call as callAs, seedCustomers, settled, type Customers } from "./helpers/customers.js";
import { logInThroughUi, startWebGateway, type WebGateway } from "./helpers/gateway.js";

/** The figures on the pages are the account's own; another account's ids show nothing; an ended session lands on the login page. */
describe("customer data and access in the browser", { skip: !requireChromium("customer data and access") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  let A: Customers["A"];
  let B: Customers["B"];
  const call = (token: string, path: string, init?: { method?: string; body?: unknown }) => callAs(w, token, path, init);

  before(async () => {
    [w, b] = await Promise.all([startWebGateway(), launchBrowser()]);
    ({ A, B } = await seedCustomers(w));
  });
  after(async () => {
    await b?.close();
    await w?.stop();
  });

  test("the data on the pages is the account's: figures, ledger, payments, referral commission", async () => {
    const page = await b.page({ locale: "en" });
    await logInThroughUi(page, w.app, A.email);
    await settled(page);
    const me = await call(A.token, "/v1/client/balance");
    const shown = (await page.getByTestId("balance-available").textContent())!;
    assert.equal(shown.replace(/[^\d.]/g, ""), Number(me.body.available).toFixed(2), `overview shows ${shown}`);
    await page.goto(`${w.app}/billing`);
    await settled(page);
    assert.equal(await page.locator("tr[data-order-id]").count(), 2, "the paid and the pending order");
    await page.locator("tr[data-order-id]", { hasText: "Pending" }).waitFor();
    await page.locator('tr[data-ledger-kind="referral_bonus"]').waitFor();
    await page.goto(`${w.app}/referrals`);
    await settled(page);
    assert.match((await page.getByRole("region", { name: "Invited" }).textContent())!, /b\*\*\*@example\.com.*₽50\.00/);
    assert.doesNotMatch(await page.content(), /boris@example\.com/, "the invitee's address is masked");
    // Filters go into the URL and survive a reload.
    await page.goto(`${w.app}/activity`);
    await settled(page);
    await page.getByLabel("Status").selectOption("failed");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/status=failed/);
    await page.reload();
    await settled(page);
    assert.equal(await page.locator("tr[data-request-id]").count(), 1);
    assert.equal(await page.getByLabel("Status").inputValue(), "failed");
  });

  test("another account's ids in URLs and API calls show nothing of theirs", async () => {
    const page = await b.page({ locale: "en" });
    await logInThroughUi(page, w.app, A.email);
    await page.goto(`${w.app}/activity/${B.requestId}`);
    await page.getByTestId("request-not-found").waitFor();
    assert.doesNotMatch(await page.content(), /secret question|b-key/);
    await page.goto(`${w.app}/activity?key_id=${B.keyId}`);
    await settled(page);
    assert.equal(await page.locator("tr[data-request-id]").count(), 0);
    await page.getByText("No requests match these filters.").waitFor();
    // The same through the API with A's session: 404 or nothing, never B's data.
    assert.equal((await call(A.token, `/v1/generation?id=${B.requestId}`)).status, 404);
    assert.equal((await call(A.token, `/v1/payments/orders/${B.orderId}`)).status, 404);
    assert.equal((await call(A.token, `/v1/auth/api-keys/${B.keyId}`)).status, 404);
    assert.equal((await call(A.token, `/v1/auth/api-keys/${B.keyId}`, { method: "PATCH", body: { status: "disabled" } })).status, 404);
    assert.equal((await call(A.token, `/v1/auth/api-keys/${B.keyId}`, { method: "DELETE" })).status, 404);
    assert.equal((await call(A.token, `/v1/client/requests?key_id=${B.keyId}`)).status, 404);
    const ledger = (await call(A.token, "/v1/client/ledger?limit=200")).body.data as { ref: string }[];
    assert.equal(ledger.some((e) => e.ref === B.requestId), false);
    // B's key still works: nothing was changed by A's attempts.
    assert.equal((await call(B.token, `/v1/auth/api-keys/${B.keyId}`)).body.status, "active");
  });

  test("an ended session sends the user to the login page, saying so", async () => {
    const page = await b.page({ locale: "en" });
    await logInThroughUi(page, w.app, A.email);
    await settled(page);
    // The session ends elsewhere (the refresh token is revoked through the API, as logout does).
    const rt = (await page.context().cookies()).find((c) => c.name === "lg_rt")!;
    const out = await fetch(`${w.gw.url}/v1/auth/logout`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refresh_token: rt.value }) });
    assert.equal(((await out.json()) as { revoked: boolean }).revoked, true);
    await page.getByRole("link", { name: "Activity" }).first().click();
    await page.waitForURL(/\/dashboard\/login\?next=%2Factivity&expired=1/);
    await page.getByText("Your session has ended. Please log in again.").waitFor();
    // A reload does not bring it back.
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Log in to your account" }).waitFor();
    await logInThroughUi(page, w.app, A.email);
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  });
});
