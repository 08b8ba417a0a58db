// The dashboard's audit log page in a real Chromium against a real server: an admin sees what was
// done (refusals included), filters it through the query string, and the page is not offered to
// a viewer, whom the server refuses anyway.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@flowplane/client";
import { launchTestBrowser, screenshot, signIn, startDashboardServer, type Browser } from "./dashboard-support.ts";
import type { TestServer } from "./harness.ts";

let server: TestServer;
let browser: Browser;
let page: Page;
let readKey: string;

beforeAll(async () => {
  server = await startDashboardServer();
  readKey = (await server.api.apiKeys.create.mutate({ name: "wallboard", scope: "READ" })).key;
  await server.api.secrets.set.mutate({ name: "WAREHOUSE_PASSWORD", value: "page-must-not-show-this" });
  const reader = createApiClient({ apiUrl: server.url, apiKey: readKey, workspace: "default" });
  await expect(reader.workPools.create.mutate({ name: "nope", type: "process" })).rejects.toThrow();
  browser = await launchTestBrowser();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
}, 60_000);

describe("dashboard: audit log", () => {
  it("shows an admin who did what, refusals included, and filters by outcome and action", async () => {
    await signIn(page, server.url, server.adminKey);
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
    const table = page.getByTestId("audit-table");
    await table.locator('tr[data-action="secrets.set"]').first().waitFor();
    await table.locator('tr[data-action="workPools.create"][data-outcome="refused"]').waitFor();
    expect(await page.content()).not.toContain("page-must-not-show-this");
    await screenshot(page, "audit-log");

    await page.getByLabel("Outcome").selectOption("refused");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/outcome=refused/);
    await expect.poll(() => table.locator("tbody tr").count()).toBeGreaterThan(0);
    const outcomes = await table.getByTestId("audit-outcome").allTextContents();
    expect(outcomes.every((o) => o.startsWith("refused"))).toBe(true);
    expect(await table.getByTestId("audit-actor").first().textContent()).toBeTruthy();

    // The filtered view is an address: reloading it keeps the filters.
    await page.goto(`${server.url}/audit?action=secrets.set`);
    await table.locator("tbody tr").first().waitFor();
    expect(new Set(await table.getByTestId("audit-action").allTextContents())).toEqual(new Set(["secrets.set"]));
    expect(await page.getByLabel("Action").inputValue()).toBe("secrets.set");
    expect(browser.errors).toEqual([]);
  });

  it("is not offered to a viewer, and the server refuses one who goes there anyway", async () => {
    await page.evaluate(() => sessionStorage.clear());
    await signIn(page, server.url, readKey);
    expect(await page.getByRole("link", { name: "Audit log" }).count()).toBe(0);
    await page.goto(`${server.url}/audit`);
    await page
      .getByText(/needs an admin|admin key/i)
      .first()
      .waitFor();
  });
});
