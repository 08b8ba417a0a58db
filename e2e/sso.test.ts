// Single sign-on end to end in a real Chromium: a real server (dashboard included), a real OpenID
// provider on loopback (the certified oidc-provider package) registered with the server's callback.
// A person from an allowed domain signs in at the provider and lands in the dashboard signed in,
// a member just in time; a person from another domain, and a callback whose state was tampered
// with, are refused and audited; an organisation that requires SSO refuses its members' passwords.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestProvider } from "@flowplane/api/testing/oidc-provider";
import { screenshot } from "./dashboard-support.ts";
import { runCli, type TestServer } from "./harness.ts";
import {
  signInAtProvider,
  signInWithSso,
  startSsoBrowserFixture,
  type SsoBrowserFixture,
} from "./support/sso-browser.ts";

let fixture: SsoBrowserFixture;
let server: TestServer;
let idp: TestProvider;
let page: Page;

beforeAll(async () => {
  fixture = await startSsoBrowserFixture("e2e-client-secret-0123456789");
  ({ server, idp, page } = fixture);
  const configured = await server.api.sso.configure.mutate({
    issuer: idp.issuer,
    clientId: "flowplane",
    clientSecret: "e2e-client-secret-0123456789",
    allowedDomains: ["acme.test"],
    workspaceName: "default",
    defaultRole: "DEVELOPER",
  });
  expect(configured.redirectUri).toBe(`${server.url}/auth/sso/callback`);
}, 240_000);

afterAll(() => fixture?.close(), 60_000);

async function auditEvents(action: string) {
  return (await server.api.audit.list.query({ action })).events;
}

describe("single sign-on", () => {
  it('signs a person in with the dashboard\'s "Sign in with SSO" and makes them a member just in time', async () => {
    await page.goto(`${server.url}/sign-in`);
    await signInWithSso(page, idp.issuer, "ada@acme.test");
    // Back in the dashboard, signed in as the person, in the SSO workspace with the default role.
    expect(await page.getByTestId("signed-in-as").textContent()).toContain("ada@acme.test");
    expect(await page.locator(".scope-pill").textContent()).toBe("developer");
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "fp_session")).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    // The pending sign-in cookie is gone once used.
    expect(cookies.find((c) => c.name === "flowplane_sso")).toBeUndefined();
    await screenshot(page, "sso-signed-in");
    // The dashboard's token calls that followed are audited as the person, not as anonymous.
    await expect
      .poll(() =>
        server.db.prisma.auditEvent.findFirst({
          where: { action: "auth.accessToken" },
          select: { actorType: true, actorName: true, outcome: true },
        }),
      )
      .toEqual({ actorType: "user", actorName: "ada@acme.test", outcome: "ok" });
    const [entry] = await auditEvents("auth.sso.signIn");
    expect(entry).toMatchObject({
      outcome: "ok",
      actor: { type: "user", name: "ada@acme.test" },
      ip: expect.stringContaining("127.0.0.1"),
    });
  });

  it("refuses a person whose email is outside the allowed domains, shows why, and audits it", async () => {
    await page.context().clearCookies();
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${server.url}/sign-in`);
    await page.getByLabel("Email").fill("bob@acme.test");
    await page.getByRole("button", { name: "Sign in with SSO" }).click();
    await signInAtProvider(page, "mallory@evil.test");
    await page.waitForURL(/\/sign-in\?sso_error=/);
    await page.getByRole("alert").getByText("mallory@evil.test is not in a domain allowed").waitFor();
    await screenshot(page, "sso-refused");
    expect((await page.context().cookies()).find((c) => c.name === "fp_session")).toBeUndefined();
    const [entry] = await auditEvents("auth.sso.signIn");
    expect(entry).toMatchObject({ outcome: "refused", errorCode: "FORBIDDEN", target: { email: "mallory@evil.test" } });
  });

  it("refuses a callback whose state is not this browser's sign-in's (an injected callback), and a replayed one", async () => {
    // A complete sign-in, whose callback address (code and state) is kept, as an attacker would.
    await page.context().clearCookies();
    let callback: string | null = null;
    const watch = (request: { url(): string }) => {
      if (request.url().startsWith(`${server.url}/auth/sso/callback`)) callback ??= request.url();
    };
    page.on("request", watch);
    await page.goto(`${server.url}/auth/sso/start?email=${encodeURIComponent("carol@acme.test")}`);
    await signInAtProvider(page, "carol@acme.test");
    await page.waitForURL(`${server.url}/`);
    page.off("request", watch);
    expect(callback).not.toBeNull();

    // Another browser state: a sign-in started (its own state in its cookie), then that callback injected.
    await page.context().clearCookies();
    await page.goto(`${server.url}/auth/sso/start?email=${encodeURIComponent("carol@acme.test")}`);
    await page.locator('input[name="login"]').waitFor();
    await page.goto(callback!);
    await page.waitForURL(/\/sign-in\?sso_error=/);
    expect(new URL(page.url()).searchParams.get("sso_error")).toContain("state does not match");
    expect((await page.context().cookies()).find((c) => c.name === "fp_session")).toBeUndefined();
    const [entry] = await auditEvents("auth.sso.signIn");
    expect(entry).toMatchObject({ outcome: "refused", errorCode: "STATE_MISMATCH" });
    // The pending sign-in was spent by that attempt: the same callback again finds nothing to finish.
    await page.goto(callback!);
    await page.waitForURL(/\/sign-in\?sso_error=/);
    expect(new URL(page.url()).searchParams.get("sso_error")).toContain("no sign-in was started");
  });

  it("refuses password sign-in to members when the organisation requires SSO", async () => {
    await server.api.members.createUser.mutate({
      email: "pat@acme.test",
      role: "developer",
      password: "correct horse battery staple 9",
    });
    const signInWithPassword = () =>
      fetch(`${server.url}/trpc/auth.signIn`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "pat@acme.test", password: "correct horse battery staple 9" }),
      });
    expect((await signInWithPassword()).status).toBe(200);
    // Through the CLI, as an admin would; the stored client secret is kept.
    const set = await runCli(
      [
        "sso",
        "set",
        "--issuer",
        idp.issuer,
        "--client-id",
        "flowplane",
        "--domain",
        "acme.test",
        "--default-role",
        "developer",
        "--require",
        "--json",
      ],
      server.env,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      required: true,
      allowedDomains: ["acme.test"],
      workspaceName: "default",
    });
    const shown = await runCli(["sso", "show", "--json"], server.env);
    expect(shown.stdout).not.toContain("e2e-client-secret");
    expect(JSON.parse(shown.stdout)).toMatchObject({
      redirectUri: `${server.url}/auth/sso/callback`,
      defaultRole: "DEVELOPER",
    });
    const badRole = await runCli(
      ["sso", "set", "--issuer", idp.issuer, "--client-id", "x", "--domain", "acme.test", "--default-role", "owner"],
      server.env,
    );
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain("--default-role");
    const refused = await signInWithPassword();
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).toContain("requires single sign-on");
    // A password sign-in belongs to no workspace yet, so its entry has none (see README, "Audit log").
    const refusedSignIn = () =>
      server.db.prisma.auditEvent.findFirst({
        where: { action: "auth.signIn", outcome: "refused" },
        select: { errorCode: true, target: true },
      });
    // Written by the recorder within a second.
    await expect.poll(refusedSignIn, { timeout: 5_000 }).toMatchObject({
      errorCode: "FORBIDDEN",
      target: { email: "pat@acme.test" },
    });
  });
});
