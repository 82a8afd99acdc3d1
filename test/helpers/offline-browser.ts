import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { IN_CI } from "./db.js";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** True when the browser suites should run; in CI a missing Chromium fails instead of skipping. */
export function requireChromium(title: string): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (IN_CI) throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}; CI must run the browser suites (apt-get install chromium)`);
  console.log(`# SKIPPED browser suite "${title}": no Chromium at ${CHROMIUM_PATH}`);
  return false;
}

export interface OfflineBrowser {
  context: BrowserContext;
  /** Every request the page tried to send anywhere but loopback (each was aborted). */
  blocked: string[];
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Headless Debian Chromium with the network cut off: every request to a host other than loopback is
 * aborted and recorded, so a page that needs a CDN renders broken and the test sees which URL it wanted.
 */
export async function launchOfflineBrowser(): Promise<OfflineBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "gw-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  const blocked: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === "http:" || url.protocol === "https:") && !LOOPBACK.has(url.hostname)) {
      blocked.push(url.toString());
      return route.abort("internetdisconnected");
    }
    return route.continue();
  });
  return {
    context,
    blocked,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
