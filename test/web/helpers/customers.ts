import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { assertAccessible } from "./axe.js";
import type { TestBrowser } from "./browser.js";
import { logInThroughUi, PASSWORD, type WebGateway } from "./gateway.js";
import { screenshot } from "./screenshots.js";

/** Two customers with data on every page: A (keys, paid top-up, requests incl. a failed one, a pending order) and B, invited by A and paying. */
export interface Customers {
  A: { email: string; token: string; accountId: string; key: string; keyId: string; requestId: string };
  B: { email: string; token: string; accountId: string; keyId: string; requestId: string; orderId: string };
}

export async function call(w: WebGateway, token: string, path: string, init: { method?: string; body?: unknown } = {}) {
  const r = await fetch(w.gw.url + path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: r.status, body: (await r.json().catch(() => null)) as any };
}

/** A YooKassa top-up through the API, completed by the (faked) notification. Returns the order id. */
export async function payByYooKassa(w: WebGateway, token: string, amount: string, complete = true): Promise<string> {
  const t = await call(w, token, "/v1/payments/yookassa", { body: { amount, return_url: `${w.app}/billing?return=yookassa` } });
  assert.equal(t.status, 201, JSON.stringify(t.body));
  if (complete) assert.equal((await w.notifyYooKassaPaid(t.body.payment_id)).status, 200);
  return t.body.order_id;
}

export async function seedCustomers(w: WebGateway): Promise<Customers> {
  const a = await w.registerUser("anna@example.com");
  const key = await call(w, a.accessToken, "/v1/auth/api-keys", { body: { name: "backend", limits: { daily_money: "200.00" } } });
  await call(w, a.accessToken, "/v1/auth/api-keys", { body: { name: "old", expires_at: "2026-01-01T00:00:00Z" } });
  await payByYooKassa(w, a.accessToken, "1000.00");
  const sdk = w.gw.openai(key.body.secret);
  let requestId = "";
  for (const model of ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4o-mini"]) {
    const r = await sdk.chat.completions.create({ model, messages: [{ role: "user", content: `hello ${model}` }] }).withResponse();
    requestId = r.response.headers.get("x-request-id")!;
  }
  await sdk.embeddings.create({ model: "openai/text-embedding-3-small", input: "vectors" });
  // One failed request (the body's `mock` field makes every attempt upstream answer 500) and a top-up that was started and abandoned.
  const failing = { model: "openai/gpt-4o-mini", messages: [{ role: "user" as const, content: "fail" }], mock: { status: 500 } };
  await sdk.chat.completions.create(failing as never).then(
    () => assert.fail("the request should fail"),
    () => undefined,
  );
  await payByYooKassa(w, a.accessToken, "300.00", false);

  const code = (await call(w, a.accessToken, "/v1/client/referrals")).body.code as string;
  const reg = await fetch(`${w.gw.url}/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "boris@example.com", password: PASSWORD, referral_code: code }),
  });
  const rb = (await reg.json()) as { access_token: string; account: { id: string } };
  const orderId = await payByYooKassa(w, rb.access_token, "500.00");
  const bk = await call(w, rb.access_token, "/v1/auth/api-keys", { body: { name: "b-key" } });
  const br = await w.gw
    .openai(bk.body.secret)
    .chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "B's secret question" }] })
    .withResponse();
  await w.gw.gateway.deps.logs.flush();
  return {
    A: { email: "anna@example.com", token: a.accessToken, accountId: a.accountId, key: key.body.secret, keyId: key.body.id, requestId },
    B: { email: "boris@example.com", token: rb.access_token, accountId: rb.account.id, keyId: bk.body.id, requestId: br.response.headers.get("x-request-id")!, orderId },
  };
}

/** The page has rendered its data: a heading, no spinner, no pending figure. */
export async function settled(page: Page): Promise<void> {
  await page.getByRole("heading", { level: 1 }).first().waitFor();
  await page.waitForFunction(() => {
    const d = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document;
    return !d.querySelector(".animate-spin") && !d.querySelector("[data-pending]");
  });
}

export const CUSTOMER_PAGES = [
  { name: "overview", path: "", h1: { ru: "Обзор", en: "Overview" } },
  { name: "keys", path: "/keys", h1: { ru: "API-ключи", en: "API keys" } },
  { name: "activity", path: "/activity", h1: { ru: "Активность", en: "Activity" } },
  { name: "activity-detail", path: "/activity/{requestId}", h1: { ru: "Запрос", en: "Request" } },
  { name: "models", path: "/models", h1: { ru: "Модели и цены", en: "Models & prices" } },
  { name: "billing", path: "/billing", h1: { ru: "Пополнение", en: "Top up" } },
  { name: "referrals", path: "/referrals", h1: { ru: "Рефералы", en: "Referrals" } },
  { name: "playground", path: "/playground", h1: { ru: "Песочница", en: "Playground" } },
  { name: "settings", path: "/settings", h1: { ru: "Настройки", en: "Settings" } },
  { name: "not-found", path: "/no-such-page", h1: { ru: "Страница не найдена", en: "Page not found" } },
] as const;

/**
 * Every customer page (and login, sign-up; at 375 px also the open menu) in one locale and
 * viewport: waits for the data, runs axe-core (no serious/critical), checks nothing scrolls
 * sideways at 375 px, writes a screenshot. Returns the screenshot paths.
 */
export async function visitEveryPage(b: TestBrowser, w: WebGateway, c: Customers, locale: "ru" | "en", mobile: boolean): Promise<string[]> {
  const shots: string[] = [];
  const where = `${locale}, ${mobile ? "375 px" : "desktop"}`;
  const noSideways = async (page: Page, what: string) => {
    // A mobile browser zooms out to fit wide content, so the layout viewport must still be 375 px wide.
    if (mobile) assert.deepEqual(await page.evaluate<number[]>("[window.innerWidth, document.documentElement.scrollWidth]"), [375, 375], `${what} (${where}) is wider than the screen`);
  };
  const anon = await b.page({ locale, mobile });
  for (const [name, path] of [
    ["login", "/login"],
    ["signup", "/signup"],
  ] as const) {
    await anon.goto(w.app + path);
    await settled(anon);
    await assertAccessible(anon, `${name} (${where})`);
    await noSideways(anon, name);
    shots.push(await screenshot(anon, name, { locale, mobile }));
  }
  const page = await b.page({ locale, mobile });
  await logInThroughUi(page, w.app, c.A.email);
  for (const p of CUSTOMER_PAGES) {
    await page.goto(w.app + p.path.replace("{requestId}", c.A.requestId));
    await page.getByRole("heading", { level: 1, name: new RegExp(`^${p.h1[locale]}`) }).waitFor();
    await settled(page);
    await assertAccessible(page, `${p.name} (${where})`);
    await noSideways(page, p.name);
    shots.push(await screenshot(page, p.name, { locale, mobile }));
  }
  if (mobile) {
    await page.goto(w.app);
    await settled(page);
    await page.getByRole("button", { name: locale === "ru" ? "Меню" : "Menu" }).click();
    await page.locator("#drawer").waitFor();
    await assertAccessible(page, `menu (${where})`);
    shots.push(await screenshot(page, "menu", { locale, mobile }));
  }
  assert.deepEqual([...anon.errors, ...page.errors], [], `page errors (${where})`);
  await Promise.all([anon.context().close(), page.context().close()]);
  return shots;
}
