// Shared by the browser tests of single sign-on: a dashboard server, the test OpenID provider on
// loopback with that server's callback registered, and one Chromium that cannot leave loopback.
import type { Page } from "playwright-core";
import { startTestProvider, type TestProvider } from "@flowplane/api/testing/oidc-provider";
import { launchTestBrowser, startDashboardServer, type Browser } from "../dashboard-support.ts";
import type { TestServer } from "../harness.ts";

/** The client id the provider knows the server by. */
export const SSO_CLIENT_ID = "flowplane";

export interface SsoBrowserFixture {
  server: TestServer;
  idp: TestProvider;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

export async function startSsoBrowserFixture(clientSecret: string): Promise<SsoBrowserFixture> {
  const server = await startDashboardServer();
  let idp: TestProvider | undefined;
  let browser: Browser | undefined;
  try {
    idp = await startTestProvider({
      clients: [{ clientId: SSO_CLIENT_ID, clientSecret, redirectUris: [`${server.url}/auth/sso/callback`] }],
    });
    browser = await launchTestBrowser();
    // The provider's development pages link a web font; nothing may leave loopback.
    await browser.context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
  } catch (err) {
    // The test's afterAll gets no fixture to close: what did start is stopped here.
    await browser?.close();
    await idp?.close();
    await server.close();
    throw err;
  }
  return {
    server,
    idp,
    browser,
    page: browser.page,
    async close() {
      await browser.close();
      await idp.close();
      await server.close();
    },
  };
}

/** At the provider's development pages: any login and password sign in, then consent. */
export async function signInAtProvider(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').waitFor();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("anything");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

/**
 * From the dashboard's sign-in page: "Sign in with SSO" as `email`, through the provider's pages,
 * back to the dashboard's runs list.
 */
export async function signInWithSso(page: Page, issuer: string, email: string): Promise<void> {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Sign in with SSO" }).click();
  await page.waitForURL(`${issuer}/**`);
  await signInAtProvider(page, email);
  await page.getByRole("heading", { level: 1, name: "Runs" }).waitFor();
}
