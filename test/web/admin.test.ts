import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseMoney } from "../../src/core/money.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { ADMIN_TOKEN } from "../helpers/gateway.js";
import { adminGatewayConfig, fakeOpenRouter, MODEL, settled, tokenLogin } from "./admin-helpers.js";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { startWebGateway, type WebGateway } from "./helpers/gateway.js";

/**
 * The operator's admin panel in Debian's chromium against a real gateway: token login, a tariff
 * with a markup, an account on it with a balance, the customer's request (official openai SDK) in
 * the request log with its upstream cost, price and profit, the overview's profit for today equal
 * to the sum over the log, a held price change approved (and the next request priced with it).
 * Refunds and a client's access: admin-refund-access.test.ts; screenshots and axe-core of every
 * page: admin-pages-*.test.ts (one file per part keeps each well inside the per-file time limit).
 */

// USD micros per 1M tokens; USD_RATE 100; tariff markup 2.
const RATE = 100_000_000n;
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
const priceOf = (prompt: number, completion: number, inUsd: bigint, outUsd: bigint, markupPpm: bigint) =>
  ceilDiv((BigInt(prompt) * inUsd + BigInt(completion) * outUsd) * RATE * markupPpm, 10n ** 18n);
const costOf = (prompt: number, completion: number, inUsd: bigint, outUsd: bigint) => ceilDiv((BigInt(prompt) * inUsd + BigInt(completion) * outUsd) * RATE * 10_000n, 10n ** 16n);

describe("admin panel in the browser", { skip: !requireChromium("admin panel in the browser") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  let mock: OpenAIUpstream;
  const openrouter = fakeOpenRouter();
  const ctx: { accountId?: string; key?: string; requestId?: string } = {};

  before(async () => {
    mock = await startOpenAIUpstream();
    const orUrl = await openrouter.start();
    [w, b] = await Promise.all([
      startWebGateway({
        config: adminGatewayConfig(mock.baseUrl),
        env: { USD_RATE: "100", DEFAULT_MARKUP: "1.5", RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0", OPENROUTER_BASE_URL: orUrl, CATALOG_SYNC_MAX_CHANGE_PCT: "20", KEY_CACHE_TTL_MS: "0" },
      }),
      launchBrowser(),
    ]);
  });
  after(async () => {
    await b?.close();
    await w?.stop();
    await mock?.close();
    openrouter.server.close();
  });

  test("admin: token login → tariff with a markup → account on it with a balance → the customer's request in the log with cost, price, profit → overview's profit for today = sum over the log", async () => {
    const page = await b.page({ locale: "en" });
    // An admin URL without a session goes to the login page, which links the token login.
    await page.goto(`${w.app}/admin/accounts`);
    await page.waitForURL(/\/login\?/);
    await page.getByRole("link", { name: "Administrator? Log in with the admin token" }).click();
    await page.waitForURL(/\/admin\/login\?next=/);
    await settled(page);
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL((u) => u.pathname.endsWith("/admin/accounts"));
    await settled(page);
    assert.equal((await page.context().cookies()).some((c) => c.name === "lg_at"), false, "no access-token cookie: the token page keeps it in memory");

    // A tariff with markup ×2.
    await page.goto(`${w.app}/admin/prices`);
    await settled(page);
    await page.getByRole("button", { name: "New tariff" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Name", { exact: true }).fill("Pro x2");
    await dlg.getByLabel("Markup", { exact: true }).fill("2");
    await dlg.getByRole("button", { name: "Save" }).click();
    await page.locator('[data-testid="tariff-row"][data-name="Pro x2"]').waitFor();

    // An account on it with an opening balance.
    await page.goto(`${w.app}/admin/accounts`);
    await settled(page);
    await page.getByRole("button", { name: "New account" }).click();
    const acc = page.getByRole("dialog");
    await acc.getByLabel("Name").fill("ACME Corp");
    await acc.getByLabel("Tariff").selectOption({ label: "Pro x2 (×2.0)" });
    await acc.getByLabel("Opening balance").fill("500");
    await acc.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/admin\/accounts\/acct_/);
    await settled(page);
    ctx.accountId = page.url().split("/").pop()!;
    assert.match((await page.getByTestId("account-balance").textContent()) ?? "", /500\.00/);
    const tariffs = (await (await w.gw.admin("/admin/tariffs")).json()) as { data: Array<{ id: string; name: string }> };
    const acct = (await (await w.gw.admin(`/admin/accounts/${ctx.accountId}`)).json()) as { tariff_id: string; balance: string };
    assert.equal(acct.tariff_id, tariffs.data.find((x) => x.name === "Pro x2")!.id);
    assert.equal(acct.balance, "500.00");

    // A key for the customer, shown once.
    await page.getByRole("button", { name: "New key" }).click();
    await page.getByRole("dialog").getByLabel("Name").fill("prod");
    await page.getByRole("dialog").getByRole("button", { name: "Create key" }).click();
    ctx.key = (await page.getByTestId("new-key-secret").textContent())!.trim();
    assert.match(ctx.key, /^sk-gw-/);

    // The customer's request, with the official SDK.
    const { data: r, response } = await w.gw.openai(ctx.key).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Hello from ACME, please answer" }] }).withResponse();
    ctx.requestId = response.headers.get("x-request-id")!;
    await w.gw.gateway.deps.logs.flush();
    const u = r.usage!;
    const wantPrice = priceOf(u.prompt_tokens, u.completion_tokens, 150_000n, 600_000n, 2_000_000n);
    const wantCost = costOf(u.prompt_tokens, u.completion_tokens, 150_000n, 600_000n);

    await page.goto(`${w.app}/admin/requests?account_id=${ctx.accountId}`);
    await settled(page);
    const row = page.getByTestId("log-row").first();
    await row.waitFor();
    const price = parseMoney((await row.getAttribute("data-price"))!);
    const cost = parseMoney((await row.getAttribute("data-upstream-cost"))!);
    const profit = parseMoney((await row.getAttribute("data-profit"))!);
    assert.equal(price, wantPrice, "price = list × rate × markup 2, rounded up once");
    assert.equal(cost, wantCost, "upstream cost = list × rate");
    assert.equal(profit, price - cost);
    assert.ok(profit > 0n);
    // The row's detail page shows the same numbers.
    await row.getByRole("link").first().click();
    await settled(page);
    await page.getByTestId("detail-price").waitFor();

    // Overview: today's profit = the sum of the profit column over today's log (all accounts).
    await page.goto(`${w.app}/admin`);
    await settled(page);
    const today = page.getByTestId("period-Today").getByTestId("profit");
    const shown = parseMoney((await today.getAttribute("data-value"))!);
    const logs = (await (await w.gw.admin("/admin/logs?limit=500")).json()) as { data: Array<{ profit: string | null; created_at: string }> };
    const sum = logs.data.reduce((s, x) => s + (x.profit ? parseMoney(x.profit) : 0n), 0n);
    assert.equal(shown, sum);
    assert.ok(sum >= profit);
    assert.deepEqual(page.errors, []);
  });

  test("admin approves a held price change and the next request is priced with it", async () => {
    const page = await b.page({ locale: "en" });
    await tokenLogin(page, w.app);
    await page.goto(`${w.app}/admin/prices`);
    await settled(page);
    // First sync takes the catalog's price as is; a doubled input price is then held for review.
    await page.getByRole("button", { name: "Sync prices from OpenRouter" }).click();
    await page.getByTestId("sync-result").getByText("1 added").waitFor();
    openrouter.setPrompt("0.0000003");
    await page.getByRole("button", { name: "Sync prices from OpenRouter" }).click();
    await page.getByTestId("sync-result").getByText("1 held for review").waitFor();
    const change = page.locator(`[data-testid="price-change-row"][data-model="${MODEL}"]`);
    await change.waitFor();
    await change.getByRole("button", { name: "Approve" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Approve" }).click();
    await change.waitFor({ state: "detached" });
    // The table shows the new customer price for the tariff ×1.5 (default): 0.30 × 100 × 1.5 = 45.
    await page.locator(`[data-testid="price-row"][data-model="${MODEL}"][data-customer-input="45.00"]`).waitFor();

    const { data: r, response } = await w.gw.openai(ctx.key!).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "After the price change" }] }).withResponse();
    await w.gw.gateway.deps.logs.flush();
    const log = (await (await w.gw.admin(`/admin/logs/${response.headers.get("x-request-id")}`)).json()) as { cost: string; upstream_cost: string };
    const u = r.usage!;
    assert.equal(parseMoney(log.cost), priceOf(u.prompt_tokens, u.completion_tokens, 300_000n, 600_000n, 2_000_000n), "priced with the approved input price");
    assert.equal(parseMoney(log.upstream_cost), costOf(u.prompt_tokens, u.completion_tokens, 300_000n, 600_000n));
    const audit = (await (await w.gw.admin("/admin/audit-log?action=price_change.*")).json()) as { data: Array<{ action: string; actor: string }> };
    assert.equal(audit.data[0]?.action, "price_change.approve");
    assert.equal(audit.data[0]?.actor, "admin:usr_operator");
    assert.deepEqual(page.errors, []);
  });
});
