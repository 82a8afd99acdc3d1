import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { assertAccessible } from "./helpers/axe.js";
import { launchBrowser, requireChromium, type TestBrowser } from "./helpers/browser.js";
import { PASSWORD, startWebGateway, type WebGateway } from "./helpers/gateway.js";

/**
 * A new customer's whole path in the browser, on the real gateway with its mock upstream:
 * sign up → create a key (copy the secret) → top up through YooKassa (a faked notification) →
 * a request with the official openai SDK → the same request and its exact cost in Activity →
 * a streamed playground answer → log out and back in. The account is prepaid, so the top-up comes
 * before the first request (a request on an empty balance is refused with 402).
 */
describe("customer journey in the browser", { skip: !requireChromium("customer journey") }, () => {
  let w: WebGateway;
  let b: TestBrowser;
  before(async () => {
    [w, b] = await Promise.all([startWebGateway(), launchBrowser()]);
  });
  after(async () => {
    await b?.close();
    await w?.stop();
  });

  const h1 = (page: Page, name: string | RegExp) => page.getByRole("heading", { level: 1, name }).waitFor();

  test("sign up → key → top up → SDK request → Activity cost → playground stream → log out and in", async () => {
    const email = "journey@example.com";
    const page = await b.page({ locale: "ru" });
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: w.gw.url });

    // Sign up.
    await page.goto(`${w.app}/signup`);
    await page.getByLabel("Эл. почта").fill(email);
    await page.getByLabel("Пароль").fill(PASSWORD);
    await page.getByRole("button", { name: "Зарегистрироваться" }).click();
    await h1(page, "Обзор");
    // The figure reads "…" until the balance has loaded.
    const available = page.getByTestId("balance-available").filter({ hasNotText: "…" });
    await available.waitFor();
    assert.match((await available.textContent())!, /^0,00\s₽$/);

    // Create a key; the secret is shown once and the copy button puts it on the clipboard.
    await page.getByRole("link", { name: "API-ключи" }).first().click();
    await h1(page, "API-ключи");
    await page.getByText("Ключей пока нет").waitFor();
    await page.getByRole("button", { name: "Создать ключ" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Название").fill("prod");
    await dialog.getByLabel("Токенов в день").fill("100000");
    await dialog.getByRole("button", { name: "Создать ключ" }).click();
    const secret = (await page.getByTestId("new-key-secret").textContent())!;
    assert.match(secret, /^sk-gw-[A-Za-z0-9]{40}$/);
    await page.getByRole("dialog").getByRole("button", { name: "Копировать" }).click();
    await page.getByRole("dialog").getByText("Скопировано").waitFor();
    assert.equal(await page.evaluate<string>("navigator.clipboard.readText()"), secret);
    await page.getByRole("button", { name: "Я скопировал ключ" }).click();
    const row = page.locator("tr", { hasText: "prod" });
    await row.getByText("Активен").waitFor();
    assert.match((await row.textContent())!, /Токенов в день: 100\s000/);
    assert.doesNotMatch((await page.content())!, new RegExp(secret), "the secret is gone from the page after the dialog");

    // Top up 1 500 ₽ through YooKassa: the redirect to the payment page is answered with the shop's
    // return URL after the (faked) notification has reached the gateway.
    await page.getByRole("link", { name: "Пополнение" }).first().click();
    await h1(page, "Пополнение");
    await page.getByText("Платежей пока нет.").waitFor();
    await page.route("https://yoomoney.example/**", async (route) => {
      const [paymentId] = [...w.yoo.payments.keys()];
      const n = await w.notifyYooKassaPaid(paymentId!);
      assert.equal(n.status, 200);
      await route.fulfill({ status: 302, headers: { location: `${w.app}/billing?return=yookassa` } });
    });
    await page.getByRole("textbox", { name: "Сумма, ₽" }).fill("1500");
    await page.getByRole("button", { name: /^Оплатить 1\s500,00\s₽$/ }).click();
    await page.waitForURL(/\/dashboard\/billing\?return=yookassa/);
    await page.getByText(/Платёж получен: на баланс зачислено 1\s500,00\s₽/).waitFor();
    const create = w.yoo.requests.find((r) => r.method === "POST" && r.path === "/payments")!;
    assert.equal(create.body.amount.value, "1500.00");
    assert.equal(create.body.confirmation.return_url, `${w.app}/billing?return=yookassa`);
    await page.getByTestId("billing-balance").filter({ hasText: /^1\s500,00\s₽$/ }).waitFor();
    const topupRow = page.locator('tr[data-ledger-kind="topup"]');
    await topupRow.waitFor();
    assert.match((await topupRow.textContent())!, /Пополнение.*\+1\s500,00\s₽.*1\s500,00\s₽/);
    await page.locator("tr[data-order-id]", { hasText: "Оплачен" }).waitFor();

    // A request with the official SDK and the new key.
    const { data: completion, response } = await w.gw
      .openai(secret)
      .chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "Hello from the SDK" }] })
      .withResponse();
    const requestId = response.headers.get("x-request-id")!;
    const cost = (completion.usage as unknown as { cost: number }).cost;
    assert.ok(cost > 0, "usage.cost is reported");

    // Activity shows it with exactly that cost, and so does its detail page.
    await page.getByRole("link", { name: "Активность" }).first().click();
    await h1(page, "Активность");
    const cell = page.locator(`tr[data-request-id="${requestId}"] [data-testid="request-cost"]`);
    await cell.waitFor();
    assert.equal(Number(await cell.getAttribute("data-cost")), cost);
    assert.match((await page.locator(`tr[data-request-id="${requestId}"]`).textContent())!, /prod/, "the key's name");
    // The CSV export of the (filtered) log carries the same row and cost.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Выгрузить CSV" }).click()]);
    const csvText = await new Response((await download.createReadStream()) as unknown as ReadableStream).text();
    const [header, ...lines] = csvText.trim().split("\r\n");
    const cols = header!.split(",");
    const line = lines.find((l) => l.startsWith(requestId))!.split(",");
    assert.equal(Number(line[cols.indexOf("cost")]), cost);
    assert.match(download.suggestedFilename(), /^requests-\d{4}-\d{2}-\d{2}\.csv$/);
    await page.locator(`tr[data-request-id="${requestId}"] a`).click();
    await h1(page, `Запрос ${requestId}`);
    assert.equal(Number(await page.getByTestId("detail-cost").getAttribute("data-cost")), cost);
    assert.equal(Number((await page.getByTestId("detail-cost").textContent())!.replace(/[^\d,]/g, "").replace(",", ".")), cost, "shown as reported");
    await page.reload();
    await h1(page, `Запрос ${requestId}`);

    // Without the page's in-memory session the CSV is refused: no ambient cookie authenticates it.
    assert.equal(await page.evaluate<number>(`fetch("/v1/client/requests.csv").then(r => r.status)`), 401);

    // Playground: the answer arrives in pieces (the upstream streams 6 chunks 150 ms apart).
    w.mock.configure({ chunks: 6, interval_ms: 150, times: 1 });
    await page.getByRole("link", { name: "Песочница" }).first().click();
    await h1(page, "Песочница");
    await page.getByLabel("Сообщение").fill("Say something");
    await page.getByRole("button", { name: "Отправить" }).click();
    const assistant = page.locator('[data-role="assistant"]');
    // A function, not a string: a string predicate is re-evaluated with eval(), which the app's CSP refuses.
    await page.waitForFunction(() => {
      type El = { querySelector(s: string): El | null; textContent: string };
      const a = (globalThis as unknown as { document: El }).document.querySelector('[data-role="assistant"]');
      return a !== null && !a.querySelector('[data-testid="answer-stats"]') && a.textContent.length > "Ассистент".length && !a.textContent.includes("Отвечает");
    });
    const partial = (await assistant.textContent())!;
    await page.getByTestId("answer-stats").waitFor();
    const full = (await assistant.textContent())!;
    assert.ok(full.length > partial.length, `the answer grew while streaming (${JSON.stringify(partial)} → ${JSON.stringify(full)})`);
    assert.match((await page.getByTestId("answer-stats").textContent())!, /\d+ токенов · 0,\d+\s₽/);
    const log = (await (await w.gw.admin(`/admin/logs?limit=5`)).json()) as { data: { stream: boolean; api_key_id: string; price?: string; cost?: string; status: string }[] };
    assert.equal(log.data[0]!.stream, true, "the playground request is logged as a stream");
    await page.getByRole("link", { name: "API-ключи" }).first().click();
    await page.locator("tr", { hasText: "Playground" }).waitFor();

    // Log out, and back in: the balance is still there.
    await page.getByRole("button", { name: "Выйти" }).click();
    await h1(page, "Вход в аккаунт");
    await page.goto(`${w.app}/billing`);
    await page.waitForURL(/\/login\?next=%2Fbilling/);
    await page.getByLabel("Эл. почта").fill(email);
    await page.getByLabel("Пароль").fill(PASSWORD);
    await page.getByRole("button", { name: "Войти" }).click();
    await h1(page, "Пополнение");
    const after = Number((await (await w.gw.admin(`/admin/accounts?limit=50`)).json() as { data: { name: string; balance: string }[] }).data.find((a) => a.name === email)!.balance);
    assert.ok(after < 1500 && after > 1400, `balance after two requests: ${after}`);
    assert.deepEqual(page.errors, []);
  });

  test("the keyboard alone logs in, opens and closes a dialog, and works the 375 px menu", async () => {
    await w.registerUser("keys@example.com");
    const page = await b.page({ locale: "en", mobile: true });
    await page.goto(`${w.app}/login`);
    await page.getByLabel("Email").focus();
    await page.keyboard.type("keys@example.com");
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await h1(page, "Overview");
    // The menu button opens the drawer; a nav link is reachable by Tab and Enter follows it.
    const menu = page.getByRole("button", { name: "Menu" });
    await menu.focus();
    await page.keyboard.press("Enter");
    assert.equal(await menu.getAttribute("aria-expanded"), "true");
    await page.locator("#drawer").getByRole("link", { name: "API keys" }).focus();
    await page.keyboard.press("Enter");
    await h1(page, "API keys");
    assert.equal(await page.locator("#drawer").count(), 0, "the drawer closes on navigation");
    await page.getByRole("button", { name: "Create key" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog").waitFor();
    assert.equal(await page.evaluate<string>("document.activeElement && document.activeElement.getAttribute('name')"), "name", "focus moves into the dialog");
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "hidden" });
    await assertAccessible(page, "keys (en, 375 px)");
  });
});
