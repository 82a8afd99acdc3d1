import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { IN_CI } from "../../helpers/db.js";

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// No background traffic, no GPU, no sandbox (root in a container): the browser talks only to 127.0.0.1.
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

/** True when browser suites should run; in CI a missing chromium throws instead of skipping. */
export function requireChromium(title: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (IN_CI) throw new Error(`chromium is not installed at ${CHROMIUM}; CI must run the browser suites (apt-get install -y chromium)`);
  console.log(`# SKIPPED browser suite "${title}": no chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  return false;
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (own cookies and storage) in a locale and viewport. */
  context(opts?: { locale?: "ru" | "en"; mobile?: boolean }): Promise<BrowserContext>;
  /** A page in a fresh context; it fails the test on uncaught page errors (see `errors`). */
  page(opts?: { locale?: "ru" | "en"; mobile?: boolean }): Promise<Page & { errors: string[] }>;
  close(): Promise<void>;
}

export const DESKTOP = { width: 1280, height: 860 };
export const MOBILE = { width: 375, height: 740 };

/** One browser per test file: launching costs about half a second, contexts are cheap. */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const contexts: BrowserContext[] = [];
  async function context(o: { locale?: "ru" | "en"; mobile?: boolean } = {}) {
    const locale = o.locale ?? "ru";
    const ctx = await browser.newContext({
      locale: locale === "ru" ? "ru-RU" : "en-US",
      viewport: o.mobile ? MOBILE : DESKTOP,
      deviceScaleFactor: 1,
      hasTouch: o.mobile ?? false,
      isMobile: o.mobile ?? false,
      reducedMotion: "reduce",
    });
    ctx.setDefaultTimeout(15_000);
    contexts.push(ctx);
    return ctx;
  }
  return {
    browser,
    context,
    async page(o = {}) {
      const ctx = await context(o);
      const p = (await ctx.newPage()) as Page & { errors: string[] };
      p.errors = [];
      p.on("pageerror", (e) => p.errors.push(e.message));
      return p;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
    },
  };
}
