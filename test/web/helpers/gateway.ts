import { spawnSync } from "node:child_process";
import type { Page } from "playwright-core";
import { createPgliteDb } from "../../helpers/db.js";
import { FakeYooKassa } from "../../helpers/fake-yookassa.js";
import { startTestGateway, type TestGateway } from "../../helpers/gateway.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../fakes/openai-upstream.js";

const ROOT = new URL("../../..", import.meta.url).pathname;

let built = false;
/** Builds web/dist when a source is newer than the build (the same check `npm start` runs). */
export function ensureWebBuild(): void {
  if (built) return;
  const r = spawnSync(process.execPath, ["scripts/web-build.mjs"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`web build failed:\n${r.stdout}\n${r.stderr}`);
  built = true;
}

export interface WebGateway {
  gw: TestGateway;
  /** The fake OpenAI upstream every model routes to (`configure` changes its behaviour). */
  mock: OpenAIUpstream;
  yoo: FakeYooKassa;
  /** http://127.0.0.1:<port>/dashboard */
  app: string;
  /** The YooKassa notification the shop gets once the payer paid (sent from loopback, which the test allowlists). */
  notifyYooKassaPaid(paymentId: string): Promise<Response>;
  /** Signs up through the API (not the UI) and returns the session's access token. */
  registerUser(email: string, password?: string): Promise<{ accessToken: string; accountId: string; userId: string }>;
  stop(): Promise<void>;
}

export const PASSWORD = "correct horse battery";

/** A small priced catalog (USD per 1M tokens); the gateway's defaults (USD_RATE 100, markup 1.5) price it in RUB. */
export const PRICED_MODELS = [
  { id: "openai/gpt-4o-mini", aliases: ["gpt-4o-mini"], name: "GPT-4o mini", routes: [{ provider: "mock", model: "gpt-4o-mini" }], price: { input: 0.15, output: 0.6 }, context_length: 128000, max_output: 16384 },
  { id: "openai/gpt-4o", name: "GPT-4o", routes: [{ provider: "mock", model: "gpt-4o" }], price: { input: 2.5, output: 10 }, context_length: 128000, max_output: 16384 },
  { id: "openai/text-embedding-3-small", routes: [{ provider: "mock", model: "text-embedding-3-small" }], price: { input: 0.02, output: 0 }, context_length: 8192 },
];

/**
 * A real gateway (this process, ephemeral port, PGlite) with a fake OpenAI upstream, a fake YooKassa
 * API, and the built web app. One per test file; tests open their own browser contexts.
 */
export async function startWebGateway(opts: { env?: Record<string, string>; models?: unknown[]; config?: unknown } = {}): Promise<WebGateway> {
  ensureWebBuild();
  const [database, mock] = await Promise.all([createPgliteDb(), startOpenAIUpstream()]);
  const yoo = new FakeYooKassa();
  await yoo.start();
  const gw = await startTestGateway({
    database,
    // A whole gateway config of the caller's, or the priced catalog on this helper's fake upstream.
    config: opts.config ?? { providers: [{ id: "mock", type: "openai", base_url: mock.baseUrl, api_key: "sk-mock-upstream-secret" }], models: opts.models ?? PRICED_MODELS },
    env: {
      YOOKASSA_SHOP_ID: yoo.shopId,
      YOOKASSA_SECRET_KEY: yoo.secretKey,
      YOOKASSA_API_ROOT: yoo.apiRoot,
      YOOKASSA_IP_ALLOWLIST: "127.0.0.1,::1",
      REFERRAL_PERCENT: "10",
      BILLING_TIMEZONE: "Europe/Moscow",
      ...(opts.env ?? {}),
    },
  });
  const app = `${gw.url}/dashboard`;
  return {
    gw,
    mock,
    yoo,
    app,
    async notifyYooKassaPaid(paymentId) {
      yoo.setStatus(paymentId, "succeeded");
      const p = yoo.payments.get(paymentId)!;
      return fetch(`${gw.url}/payments/yookassa/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "notification", event: "payment.succeeded", object: { id: paymentId, status: "succeeded", amount: p.amount } }),
      });
    },
    async registerUser(email, password = PASSWORD) {
      const r = await fetch(`${gw.url}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
      if (r.status !== 201) throw new Error(`register: ${r.status} ${await r.text()}`);
      const s = (await r.json()) as { access_token: string; user: { id: string }; account: { id: string } };
      return { accessToken: s.access_token, accountId: s.account.id, userId: s.user.id };
    },
    async stop() {
      await gw.stop();
      await mock.close();
      await yoo.close();
      await database.drop();
    },
  };
}

/** Logs in through the login page and waits for the overview. */
export async function logInThroughUi(page: Page, app: string, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${app}/login`);
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('form button[type="submit"]').click();
  await page.locator("main h1").first().waitFor();
  await page.waitForURL((u) => !u.pathname.endsWith("/login"));
}
