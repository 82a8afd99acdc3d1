import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { adminGatewayConfig, fakeOpenRouter, MODEL, settled, tokenLogin } from "./admin-helpers.js";
import { assertAccessible } from "./helpers/axe.js";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { startWebGateway, type WebGateway } from "./helpers/gateway.js";
import { screenshot } from "./helpers/screenshots.js";

/**
 * Every admin page with data on it (accounts, a master account with a low balance, successful,
 * failed and loss-making requests, payments and a refund, a held price change, audit rows), in ru
 * and en at desktop size: a screenshot each (test-results/screenshots/admin-*.png) and no serious
 * or critical axe-core violation. Also the in-place "test this upstream" answer.
 */
/** One locale per test file: each file has its own gateway and stays well inside the per-file time limit. */
export function describeAdminPages(locale: "en" | "ru"): void {
  const title = `admin pages (${locale}): screenshots and accessibility`;
  describe(title, { skip: !requireChromium(title) }, () => {
    let w: WebGateway;
    let b: TestBrowser;
    let mock: OpenAIUpstream;
    const openrouter = fakeOpenRouter();
    let accountId = "";
    let requestId = "";

    before(async () => {
      mock = await startOpenAIUpstream();
      const orUrl = await openrouter.start();
      [w, b] = await Promise.all([
        startWebGateway({
          config: adminGatewayConfig(mock.baseUrl),
          env: {
            USD_RATE: "100",
            DEFAULT_MARKUP: "1.5",
            RATE_LIMIT_REQUESTS: "0",
            RATE_LIMIT_TOKENS: "0",
            OPENROUTER_BASE_URL: orUrl,
            ENCRYPTION_KEY: "ab".repeat(32),
            KEY_CACHE_TTL_MS: "0",
          },
        }),
        launchBrowser(),
      ]);
      const ok = async (r: Promise<Response>, status = 200) => {
        const res = await r;
        assert.equal(res.status, status, await res.clone().text());
        return res.json() as Promise<Record<string, unknown>>;
      };
      // A master account with a low known balance and a 70 % discount.
      await ok(w.gw.admin("/admin/routing/upstream-accounts", { body: { provider_id: "mock", name: "main", api_key: "sk-mock-master-0123456789", discount_percent: 70, balance: "4.50" } }), 201);
      const tariff = await ok(w.gw.admin("/admin/tariffs", { body: { name: "Business", description: "Volume customers", markup: "1.8" } }), 201);
      const a = await w.gw.createAccountWithKey({ name: "Northwind Traders", balance: "2500.00", keyName: "backend" });
      accountId = a.accountId;
      await ok(w.gw.admin(`/admin/accounts/${accountId}/tariff`, { method: "PUT", body: { tariff_id: tariff.id } }));
      await ok(w.gw.admin(`/admin/accounts/${accountId}/adjustments`, { body: { amount: "150.00", reason: "Goodwill credit", idempotency_key: "seed-1" } }));
      const other = await w.gw.createAccountWithKey({ name: "Contoso", balance: "90.00" });
      const ai = w.gw.openai(a.key);
      for (const text of ["Summarise our Q3 report", "Translate to French: hello", "Write a haiku about invoices"]) {
        const { response } = await ai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: text }] }).withResponse();
        requestId = response.headers.get("x-request-id")!;
      }
      await w.gw.openai(other.key).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "ping" }] });
      mock.configure({ usage: { prompt_tokens: 40, completion_tokens: 40, cost: 0.00005 }, times: 1 });
      await ai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "expensive upstream" }] });
      // Every attempt (retries and fallbacks included) fails.
      mock.configure({ status: 400, error_message: "bad request upstream", times: 20 });
      const failed = await ai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "fails" }] }).then(
        (r) => JSON.stringify(r),
        (e: Error) => e,
      );
      assert.ok(failed instanceof Error, `the request should have failed: ${String(failed)}`);
      mock.configure(null);
      await w.gw.gateway.deps.logs.flush();
      // Payments: one credited, one refunded.
      const c = await w.registerUser("buyer@example.com");
      for (const amount of ["300.00", "500.00"]) {
        const top = await ok(
          fetch(`${w.gw.url}/v1/payments/yookassa`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${c.accessToken}` }, body: JSON.stringify({ amount, return_url: `${w.app}/billing` }) }),
          201,
        );
        assert.equal((await w.notifyYooKassaPaid(String(top.payment_id))).status, 200);
      }
      const pays = (await ok(w.gw.admin(`/admin/payments?account_id=${c.accountId}`))) as { data: Array<{ id: string }> };
      await ok(w.gw.admin(`/admin/payments/${pays.data[0]!.id}/refund`, { body: { reason: "duplicate payment" } }));
      // A held price change.
      await ok(w.gw.admin("/admin/prices/sync", { body: {} }));
      openrouter.setPrompt("0.0000003");
      await ok(w.gw.admin("/admin/prices/sync", { body: {} }));
    });
    after(async () => {
      await b?.close();
      await w?.stop();
      await mock?.close();
      openrouter.server.close();
    });

    test(`every admin page (${locale})`, async () => {
      const page = await b.page({ locale });
      await page.goto(`${w.app}/admin/login`);
      await settled(page);
      await assertAccessible(page, `admin token login (${locale})`);
      await screenshot(page, "admin-login", { locale, mobile: false });
      await tokenLogin(page, w.app);
      const pages: Array<[string, string]> = [
        ["admin-overview", "/admin"],
        ["admin-accounts", "/admin/accounts"],
        ["admin-account", `/admin/accounts/${accountId}`],
        ["admin-upstreams", "/admin/upstreams"],
        ["admin-prices", "/admin/prices"],
        ["admin-payments", "/admin/payments"],
        ["admin-requests", "/admin/requests"],
        ["admin-request", `/admin/requests/${requestId}`],
        ["admin-audit", "/admin/audit"],
      ];
      for (const [name, path] of pages) {
        await page.goto(`${w.app}${path}`);
        await settled(page);
        await assertAccessible(page, `${name} (${locale})`);
        await screenshot(page, name, { locale, mobile: false });
      }
      // "Test this upstream" answers in place, for the provider and for the master account.
      await page.goto(`${w.app}/admin/upstreams`);
      await settled(page);
      const provider = page.locator('[data-testid="provider-row"][data-id="mock"]');
      await provider.getByRole("button").click();
      await provider.getByTestId("upstream-test-result").getByText(/gpt-4o-mini/).waitFor();
      assert.deepEqual(page.errors, [], `page errors (${locale})`);
    });
  });
}
