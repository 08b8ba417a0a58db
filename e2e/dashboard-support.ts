// Shared by the dashboard's browser tests and its scale benchmark: building the dashboard when its
// build is missing or older than its sources, and driving the system Chromium with playwright-core.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { repoRoot, startTestServer, type TestServer } from "./harness.ts";

export const dashboardDir = path.join(repoRoot, "apps/dashboard/dist");
export const screenshotDir = path.join(repoRoot, "e2e/artifacts/screenshots");
const CHROMIUM = process.env.FLOWPLANE_CHROMIUM ?? "/usr/bin/chromium";

/** Builds apps/dashboard unless dist/ is newer than everything it is built from. */
export function ensureDashboardBuilt(): void {
  execFileSync(process.execPath, [path.join(repoRoot, "apps/dashboard/scripts/build-if-stale.mjs")], {
    cwd: repoRoot,
    stdio: "pipe",
    timeout: 180_000,
  });
}

/** A test server serving the dashboard, built first if stale. */
export async function startDashboardServer(): Promise<TestServer> {
  ensureDashboardBuilt();
  return startTestServer({ dashboardDir });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors, for asserting a clean run. */
  errors: string[];
  close(): Promise<void>;
}

/** The system Chromium, headless, on a fresh profile that is removed on close. */
export async function launchBrowser(options: { width?: number; height?: number } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install it with "apt-get install -y chromium"`);
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), "flowplane-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: options.width ?? 1360, height: options.height ?? 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** launchBrowser() waiting up to 20 s for the page, as the dashboard's tests do on a busy machine. */
export async function launchTestBrowser(): Promise<Browser> {
  const browser = await launchBrowser();
  browser.page.setDefaultTimeout(20_000);
  return browser;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in through the form, as a user would. */
export async function signIn(page: Page, baseUrl: string, apiKey: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel("API key").fill(apiKey);
  await page.getByRole("button", { name: "Sign in with API key" }).click();
  await page.getByRole("heading", { level: 1, name: "Runs" }).waitFor();
}
