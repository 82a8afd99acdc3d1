import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { ADMIN_TOKEN } from "../helpers/gateway.js";

/** Shared pieces of the admin panel's browser tests. */

export const MODEL = "openai/gpt-4o-mini";

/** The gateway config of the admin tests: one priced model on the mock upstream. */
export function adminGatewayConfig(mockBaseUrl: string) {
  return {
    providers: [{ id: "mock", type: "openai", base_url: mockBaseUrl, api_key: "sk-mock-upstream-key-1" }],
    models: [{ id: MODEL, aliases: ["gpt-4o-mini"], routes: [{ provider: "mock", model: "gpt-4o-mini" }], price: { input: 0.15, output: 0.6 } }],
  };
}

/** A stand-in for OpenRouter's GET /models (the price-book sync reads it). */
export function fakeOpenRouter(): { server: Server; setPrompt(perTokenUsd: string): void; start(): Promise<string> } {
  let prompt = "0.00000015";
  const server = createServer((req, res) => {
    if (!req.url?.endsWith("/models")) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ data: [{ id: MODEL, name: "GPT-4o mini", context_length: 128000, pricing: { prompt, completion: "0.0000006" }, top_provider: { max_completion_tokens: 16384 } }] }));
  });
  return {
    server,
    setPrompt: (p) => (prompt = p),
    start: () => new Promise((r) => server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`))),
  };
}

/** Waits for the page's heading and for every data view to leave its loading state. */
export async function settled(page: Page): Promise<void> {
  await page.locator("main h1").first().waitFor();
  // Polled from here: the app's CSP forbids evaluating strings in the page.
  const spinners = page.locator('main [role="status"] .animate-spin');
  const until = Date.now() + 15_000;
  while ((await spinners.count()) > 0) {
    if (Date.now() > until) throw new Error(`${page.url()}: still loading after 15 s`);
    await page.waitForTimeout(50);
  }
}

/** Logs in through the ADMIN_TOKEN form and waits for the admin overview. */
export async function tokenLogin(page: Page, app: string): Promise<void> {
  await page.goto(`${app}/admin/login`);
  await settled(page);
  await page.locator('input[name="token"]').fill(ADMIN_TOKEN);
  await page.locator('form button[type="submit"]').click();
  await page.waitForURL((u) => u.pathname.endsWith("/admin"));
  await settled(page);
}
