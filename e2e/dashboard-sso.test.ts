// The dashboard's single sign-on page in Chromium, against a real OpenID provider on loopback (the
// certified oidc-provider package): an organisation admin signed in with a password sets SSO up on
// the page (a refused field shows the API's message beside it and nothing is saved), a person then
// signs in through it and, as a developer, gets no such page, and the admin removes it.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestProvider } from "@flowplane/api/testing/oidc-provider";
import { screenshot, type Browser } from "./dashboard-support.ts";
import type { TestServer } from "./harness.ts";
import { SSO_CLIENT_ID, signInWithSso, startSsoBrowserFixture, type SsoBrowserFixture } from "./support/sso-browser.ts";

const ADMIN = "admin@example.com";
/** An organisation member who administers the workspace, not the organisation. */
const WORKSPACE_ADMIN = "ops@example.com";
const PASSWORD = "a long and private passphrase";
const CLIENT_SECRET = "dashboard-sso-secret-0123456789";

let fixture: SsoBrowserFixture;
let server: TestServer, idp: TestProvider, browser: Browser, page: Page;

beforeAll(async () => {
  fixture = await startSsoBrowserFixture(CLIENT_SECRET);
  ({ server, idp, browser, page } = fixture);
  await server.api.members.createUser.mutate({ email: ADMIN, role: "admin", password: PASSWORD });
  await server.api.members.createUser.mutate({ email: WORKSPACE_ADMIN, role: "workspace-admin", password: PASSWORD });
}, 240_000);

afterAll(() => fixture?.close(), 60_000);

/** On the sign-in page: signs in with a password and opens the single sign-on page from the navigation. */
async function openSsoPageAs(email: string): Promise<void> {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByTestId("signed-in-as").getByText(email, { exact: true }).waitFor();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Single sign-on" }).click();
  await page.getByRole("heading", { level: 1, name: "Single sign-on" }).waitFor();
}

describe("dashboard single sign-on page", () => {
  it("sets SSO up as an organisation admin; a refused domain is shown at its field and nothing is saved", async () => {
    await page.goto(`${server.url}/`);
    await openSsoPageAs(ADMIN);
    await page.getByText("Single sign-on is not set up").waitFor();
    await page.getByLabel("Issuer URL").fill(idp.issuer);
    await page.getByLabel("Client id").fill(SSO_CLIENT_ID);
    await page.getByLabel("Client secret").fill(CLIENT_SECRET);
    await page.getByLabel("Allowed email domains").fill("acme.test, acme_test");
    await page.getByLabel("Their role there").selectOption("DEVELOPER");
    await page.getByRole("button", { name: "Turn on single sign-on" }).click();

    const domains = page.getByRole("textbox", { name: "Allowed email domains" });
    await expect.poll(() => domains.getAttribute("aria-invalid")).toBe("true");
    const describedBy = (await domains.getAttribute("aria-describedby"))!;
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(
      'allowedDomains: "acme_test" is not a domain name',
    );
    expect(await page.getByLabel("Issuer URL").getAttribute("aria-invalid")).toBeNull();
    expect(await server.api.sso.get.query()).toBeNull();
    await screenshot(page, "sso-page-refused-domain");
    browser.errors.length = 0; // the refused request's 400 is expected

    await domains.fill("acme.test");
    await page.getByRole("button", { name: "Turn on single sign-on" }).click();
    const connection = page.getByTestId("sso-connection");
    await connection.waitFor();
    const shown = (await connection.textContent())!;
    for (const expected of [idp.issuer, SSO_CLIENT_ID, "acme.test", "still allowed", `${server.url}/auth/sso/callback`])
      expect(shown).toContain(expected);
    // Write-only: the secret is neither shown nor left in a field.
    expect(await page.content()).not.toContain(CLIENT_SECRET);
    expect(await server.api.sso.get.query()).toMatchObject({
      issuer: idp.issuer,
      clientId: SSO_CLIENT_ID,
      allowedDomains: ["acme.test"],
      workspaceName: "default",
      defaultRole: "DEVELOPER",
      required: false,
    });
    await screenshot(page, "sso-page-connection");
    expect(browser.errors).toEqual([]);
  }, 90_000);

  it("signs a person in through it, who as a developer has no single sign-on page; a workspace admin only reads it", async () => {
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await signInWithSso(page, idp.issuer, "ada@acme.test");
    expect(await page.getByTestId("signed-in-as").textContent()).toBe("ada@acme.test");
    expect(await page.locator(".scope-pill").textContent()).toBe("developer");

    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Members" }).waitFor();
    expect(await nav.getByRole("link", { name: "Single sign-on" }).count()).toBe(0);
    // Typed in the address bar, the page has nothing for them: the server refuses the read.
    await page.goto(`${server.url}/sso`);
    await page.getByText("Only admins see single sign-on").waitFor();
    expect(await page.getByTestId("sso-connection").count()).toBe(0);
    browser.errors.length = 0; // the refused read's 403 is expected

    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await openSsoPageAs(WORKSPACE_ADMIN);
    expect(await page.getByTestId("sso-connection").textContent()).toContain("acme.test");
    expect(await page.getByRole("button", { name: "Change" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Remove", exact: true }).count()).toBe(0);
    expect(await page.getByRole("form", { name: "Single sign-on settings" }).count()).toBe(0);
    expect(browser.errors).toEqual([]);
  }, 90_000);

  it("replaces SSO as the organisation admin without retyping the secret, then removes it after a confirmation", async () => {
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await openSsoPageAs(ADMIN);
    await page.getByRole("button", { name: "Change" }).click();
    expect(await page.getByLabel("Client secret (empty keeps the stored one)").inputValue()).toBe("");
    await page.getByLabel("Allowed email domains").fill("acme.test, acme.example");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByTestId("sso-connection").getByText("acme.test, acme.example").waitFor();
    expect(await server.api.sso.get.query()).toMatchObject({ allowedDomains: ["acme.test", "acme.example"] });

    await page.getByRole("button", { name: "Remove", exact: true }).click();
    await page.getByRole("dialog", { name: "Remove single sign-on?" }).waitFor();
    await page.getByRole("button", { name: "Remove single sign-on" }).click();
    await page.getByText("Single sign-on is not set up").waitFor();
    expect(await server.api.sso.get.query()).toBeNull();
    expect(browser.errors).toEqual([]);
  }, 90_000);
});
