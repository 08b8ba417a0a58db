// People in the dashboard, in Chromium: the first owner created through the link printed at the
// first start, a hardened sign-in cookie the page's script cannot read, invitations and members, a
// developer who sees only what their role allows, the CLI's device sign-in confirmed on a page, and
// sign-out everywhere.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@flowplane/client";
import { launchTestBrowser, screenshot, startDashboardServer, type Browser } from "./dashboard-support.ts";
import type { TestServer } from "./harness.ts";

let server: TestServer;
let owner: Browser;
const OWNER = "owner@example.com";
const PASSWORD = "a long and private passphrase";

beforeAll(async () => {
  server = await startDashboardServer();
  owner = await launchTestBrowser();
}, 240_000);
afterAll(async () => {
  await owner?.close();
  await server?.close();
}, 60_000);

describe("dashboard accounts", () => {
  it("creates the first owner from the first-start link and keeps the sign-in in an httpOnly cookie", async () => {
    const { page } = owner;
    await page.goto(server.server.ownerSetupLink!);
    await page.getByRole("heading", { name: "Create the first owner" }).waitFor();
    // The link's secret is dropped from the address bar once read.
    expect(page.url()).not.toContain("#");
    await page.getByLabel("Email", { exact: true }).fill(OWNER);
    await page.getByLabel("Choose a password").fill("password1234");
    await page.getByRole("button", { name: "Accept and sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/most common passwords/);
    owner.errors.length = 0; // the refused password's 400 is expected
    await page.getByLabel("Choose a password").fill(PASSWORD);
    await page.getByRole("button", { name: "Accept and sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Runs" }).waitFor();
    expect(await page.getByTestId("signed-in-as").textContent()).toBe(OWNER);

    const cookies = await owner.context.cookies();
    const session = cookies.find((c) => c.name === "fp_session")!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/trpc" });
    expect(await page.evaluate(() => document.cookie)).not.toContain("fp_session");
    await screenshot(page, "accounts-01-owner-signed-in");
  }, 60_000);

  it("invites a developer, who signs up from the link and sees only what a developer may do", async () => {
    const { page } = owner;
    await page.getByRole("link", { name: "Members" }).click();
    await page.getByLabel("Email").fill("dev@example.com");
    await page.getByLabel("Role").selectOption("developer");
    await page.getByRole("button", { name: "Invite" }).click();
    const link = (await page.getByTestId("invitation-link").locator("code").textContent())!;
    expect(link).toMatch(/\/accept-invite#/);
    await page.locator('[data-member="dev@example.com"]').getByText("invited").waitFor();
    await screenshot(page, "accounts-02-members");

    const dev = await launchTestBrowser();
    try {
      await dev.page.goto(link);
      await dev.page.getByText("dev@example.com will join").waitFor();
      await dev.page.getByLabel("Choose a password").fill("developer passphrase");
      await dev.page.getByRole("button", { name: "Accept and sign in" }).click();
      await dev.page.getByRole("heading", { level: 1, name: "Runs" }).waitFor();
      const nav = dev.page.getByRole("navigation", { name: "Main" });
      await nav.getByRole("link", { name: "Members" }).waitFor();
      expect(await nav.getByRole("link", { name: "API keys" }).count()).toBe(0);
      expect(await nav.getByRole("link", { name: "Service accounts" }).count()).toBe(0);
      await nav.getByRole("link", { name: "Members" }).click();
      await dev.page.getByTestId("members-table").waitFor();
      expect(await dev.page.getByRole("button", { name: "Invite" }).count()).toBe(0);
      expect(await dev.page.getByRole("button", { name: /^Remove / }).count()).toBe(0);
      expect(dev.errors).toEqual([]);

      // The owner removes them: the developer's page is signed out at its next call.
      await page.getByRole("link", { name: "Runs" }).click();
      await page.getByRole("link", { name: "Members" }).click();
      await page.getByRole("button", { name: "Remove dev@example.com" }).click();
      await page.getByRole("button", { name: "Remove member" }).click();
      await page.locator('[data-member="dev@example.com"]').waitFor({ state: "detached" });
      await dev.page.getByRole("link", { name: "Runs" }).click();
      await dev.page.getByRole("heading", { name: "Sign in" }).waitFor();
    } finally {
      await dev.close();
    }
  }, 90_000);

  it("confirms the CLI's device sign-in on a page", async () => {
    const { page } = owner;
    const anonymous = createApiClient({ apiUrl: server.url, apiKey: "", workspace: null });
    const start = await anonymous.auth.deviceStart.mutate({ clientName: "laptop" });
    await page.goto(`${server.url}${start.verificationPath}`);
    await page.getByRole("heading", { name: "Confirm a CLI sign-in" }).waitFor();
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("heading", { name: "The CLI is signed in" }).waitFor();
    const poll = await anonymous.auth.devicePoll.mutate({ deviceCode: start.deviceCode });
    expect(poll).toMatchObject({ status: "approved", email: OWNER, workspace: "default" });
  }, 60_000);

  it("signs out and back in with the password; a wrong password is refused; sign-out everywhere ends other sign-ins", async () => {
    const { page } = owner;
    await page.getByRole("link", { name: "Runs" }).click();
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect((await owner.context.cookies()).find((c) => c.name === "fp_session")).toBeUndefined();

    await page.getByLabel("Email", { exact: true }).fill(OWNER);
    await page.getByLabel("Password", { exact: true }).fill("not my password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect.poll(() => page.locator("#password-error").textContent()).toMatch(/email or password is wrong/);
    owner.errors.length = 0;
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Runs" }).waitFor();

    const other = await launchTestBrowser();
    try {
      await other.page.goto(`${server.url}/`);
      await other.page.getByLabel("Email", { exact: true }).fill(OWNER);
      await other.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await other.page.getByRole("button", { name: "Sign in", exact: true }).click();
      await other.page.getByRole("heading", { level: 1, name: "Runs" }).waitFor();

      await page.getByRole("button", { name: "Sign out everywhere" }).click();
      await page.getByText("Signed out on every device.").waitFor();
      await other.page.getByRole("link", { name: "Flows" }).click();
      await other.page.getByRole("heading", { name: "Sign in" }).waitFor();
    } finally {
      await other.close();
    }
    expect(owner.errors).toEqual([]);
  }, 90_000);
});
