import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";

/** Where the browser tests write screenshots (README "Web app"); git-ignored. */
export const SCREENSHOT_DIR = join(new URL("../../..", import.meta.url).pathname, "test-results", "screenshots");

/** `<name>.<locale>.<desktop|mobile>.png`, full page. Returns the path. */
export async function screenshot(page: Page, name: string, opts: { locale: string; mobile: boolean }): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.${opts.locale}.${opts.mobile ? "mobile" : "desktop"}.png`);
  await page.screenshot({ path, fullPage: true, animations: "disabled" });
  return path;
}
