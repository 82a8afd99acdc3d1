import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { adminGatewayConfig, settled, tokenLogin } from "./admin-helpers.js";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { logInThroughUi, startWebGateway, type WebGateway } from "./helpers/gateway.js";
import { screenshot } from "./helpers/screenshots.js";

/**
 * Admin panel in the browser, part 2: a YooKassa payment refunded from the Payments page shows in
 * the account's ledger exactly once; a client's session gets the 403 view on every admin URL and
 * the admin API refuses its token.
 */
describe("admin panel: refunds and access", { skip: !requireChromium("admin panel: refunds and access") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  let mock: OpenAIUpstream;

  before(async () => {
    mock = await startOpenAIUpstream();
    [w, b] = await Promise.all([startWebGateway({ config: adminGatewayConfig(mock.baseUrl), env: { RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0" } }), launchBrowser()]);
  });
  after(async () => {
    await b?.close();
    await w?.stop();
    await mock?.close();
  });

  test("admin refunds a payment; the ledger shows the refund once", async () => {
    // A customer tops up through YooKassa.
    const c = await w.registerUser("payer@example.com");
    const top = await fetch(`${w.gw.url}/v1/payments/yookassa`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${c.accessToken}` }, body: JSON.stringify({ amount: "300.00", return_url: `${w.app}/billing` }) });
    assert.equal(top.status, 201, await top.clone().text());
    const { payment_id } = (await top.json()) as { payment_id: string };
    assert.equal((await w.notifyYooKassaPaid(payment_id)).status, 200);
    const pays = (await (await w.gw.admin(`/admin/payments?account_id=${c.accountId}`)).json()) as { data: Array<{ id: string; status: string }> };
    assert.equal(pays.data[0]?.status, "credited");
    const paymentId = pays.data[0]!.id;

    const page = await b.page({ locale: "en" });
    await tokenLogin(page, w.app);
    await page.goto(`${w.app}/admin/payments?account_id=${c.accountId}`);
    await settled(page);
    const row = page.locator(`[data-testid="payment-row"][data-id="${paymentId}"]`);
    await row.getByRole("button", { name: "Refund" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Reason").fill("customer asked");
    await dlg.getByRole("button", { name: "Refund" }).click();
    await dlg.getByText(/Refund: refunded/).waitFor();
    await dlg.getByRole("button", { name: "Close" }).first().click();
    await page.locator(`[data-testid="payment-row"][data-id="${paymentId}"][data-status="refunded"]`).waitFor();
    // Asking again changes nothing.
    const again = await w.gw.admin(`/admin/payments/${paymentId}/refund`, { body: {} });
    assert.ok(again.status < 500);

    await page.goto(`${w.app}/admin/accounts/${c.accountId}`);
    await settled(page);
    await page.locator('[data-testid="ledger-row"]').first().waitFor();
    const kinds = await page.locator('[data-testid="ledger-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-kind")));
    assert.equal(kinds.filter((k) => k === "payment_refund").length, 1, `ledger kinds: ${kinds}`);
    const api = (await (await w.gw.admin(`/admin/accounts/${c.accountId}/ledger?kind=payment_refund`)).json()) as { data: Array<{ amount: string }> };
    assert.equal(api.data.length, 1);
    assert.ok(api.data[0]!.amount.startsWith("-"));
    assert.deepEqual(page.errors, []);
  });

  test("a client's session gets the 403 view on admin URLs, and the admin API refuses it", async () => {
    const page = await b.page({ locale: "en" });
    const other = await w.gw.createAccountWithKey({ name: "Someone else" });
    const c = await w.registerUser("client@example.com");
    await logInThroughUi(page, w.app, "client@example.com");
    for (const path of ["/admin", "/admin/accounts", `/admin/accounts/${other.accountId}`, "/admin/requests", "/admin/audit"]) {
      await page.goto(`${w.app}${path}`);
      await page.getByTestId("forbidden").waitFor();
      assert.equal(await page.getByRole("link", { name: "Accounts & users" }).count(), 0, "no admin navigation for a client");
    }
    for (const path of ["/admin/overview", "/admin/accounts", "/admin/logs", "/admin/audit-log"]) {
      const r = await fetch(`${w.gw.url}${path}`, { headers: { authorization: `Bearer ${c.accessToken}` } });
      assert.equal(r.status, 403, path);
    }
    const write = await fetch(`${w.gw.url}/admin/accounts/${other.accountId}/adjustments`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${c.accessToken}` },
      body: JSON.stringify({ amount: "1000", reason: "me" }),
    });
    assert.equal(write.status, 403);
    await screenshot(page, "admin-forbidden", { locale: "en", mobile: false });
  });
});
