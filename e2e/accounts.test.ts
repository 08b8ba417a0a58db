// Accounts through a real server, over HTTP and the CLI, as people use them: the first-owner link
// printed at the first start, cookies as a browser receives them (and CSRF refusals), users created
// and managed with `flowplane member` / `flowplane user create`, and `flowplane login --url` signing a
// person in through the device flow confirmed in the dashboard.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@flowplane/client";
import { exited, outputOf, runCli, spawnCli, startTestServer, waitFor, type TestServer } from "./harness.ts";

let server: TestServer;
const OWNER = "owner@example.com";
const OWNER_PASSWORD = "a long and private passphrase";

beforeAll(async () => {
  server = await startTestServer();
}, 120_000);
afterAll(async () => {
  await server?.close();
});

/** A browser's view of one tRPC call: its JSON answer and the cookies it set. */
async function browserCall(path: string, input: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as { result?: { data: unknown }; error?: { message: string } };
  return { status: res.status, data: body.result?.data, error: body.error, setCookies: res.headers.getSetCookie() };
}

const cookieHeader = (setCookies: string[]) => setCookies.map((c) => c.split(";")[0]).join("; ");

describe("accounts over HTTP", () => {
  it("the first start's one-time link creates the owner, who gets hardened cookies and CSRF-checked tokens", async () => {
    const link = server.server.ownerSetupLink!;
    expect(link).toMatch(new RegExp(`^${server.url}/accept-invite#[\\w-]{40,}$`));
    const token = link.split("#")[1]!;
    const accepted = await browserCall("auth.acceptInvitation", { token, email: OWNER, password: OWNER_PASSWORD });
    expect(accepted.status).toBe(200);
    const session = accepted.setCookies.find((c) => c.startsWith("fp_session="))!;
    expect(session).toMatch(/; Path=\/trpc; Max-Age=\d+; SameSite=Strict; HttpOnly$/);
    const csrf = (accepted.data as { csrfToken: string }).csrfToken;
    const cookie = cookieHeader(accepted.setCookies);

    const withoutCsrf = await browserCall("auth.accessToken", {}, { cookie });
    expect(withoutCsrf.status).toBe(403);
    expect(withoutCsrf.error?.message).toMatch(/CSRF/);
    const access = await browserCall("auth.accessToken", {}, { cookie, "x-flowplane-csrf": csrf });
    expect(access.data).toMatchObject({ workspace: { name: "default" }, orgRole: "OWNER", scope: "ADMIN" });

    // The link is spent.
    const again = await browserCall("auth.acceptInvitation", {
      token,
      email: "second@example.com",
      password: OWNER_PASSWORD,
    });
    expect(again.status).toBe(412);
  });
});

describe("flowplane member and user", () => {
  it("creates a user from stdin, lists, invites, changes roles and removes members; bad roles name the flag", async () => {
    const created = await runCli(
      ["user", "create", "dev@example.com", "--role", "developer", "--password-stdin", "--json"],
      server.env,
      { stdin: "developer's passphrase\n" },
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ email: "dev@example.com", role: "developer" });
    const noStdin = await runCli(["user", "create", "x@example.com", "--role", "viewer"], server.env);
    expect(noStdin.code).toBe(2);
    expect(noStdin.stderr).toMatch(/--password-stdin: required/);

    const invited = await runCli(["member", "invite", "new@example.com", "--role", "viewer", "--json"], server.env);
    expect(invited.code, invited.stderr).toBe(0);
    expect(JSON.parse(invited.stdout)).toMatchObject({
      mailed: false,
      link: expect.stringMatching(/\/accept-invite#/),
    });

    const badRole = await runCli(["member", "invite", "y@example.com", "--role", "superuser"], server.env);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(
      /--role "superuser": expected one of owner, admin, workspace-admin, developer, viewer/,
    );
    const badEmail = await runCli(["member", "invite", "not-an-email", "--role", "viewer"], server.env);
    expect(badEmail.code).not.toBe(0);
    expect(badEmail.stderr).toMatch(/email/);

    const ls = await runCli(["member", "ls", "--json"], server.env);
    expect(ls.code, ls.stderr).toBe(0);
    const members = JSON.parse(ls.stdout) as { email: string; role: string; status: string; since: string }[];
    expect(members.map((m) => m.since)).toEqual(
      members
        .map((m) => m.since)
        .sort()
        .reverse(),
    );
    expect(members).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ email: OWNER, role: "owner", status: "active" }),
        expect.objectContaining({ email: "dev@example.com", role: "developer", status: "active" }),
        expect.objectContaining({ email: "new@example.com", role: "viewer", status: "invited" }),
      ]),
    );

    const set = await runCli(["member", "set-role", "dev@example.com", "viewer"], server.env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/dev@example.com is now viewer/);

    const signIn = await browserCall("auth.signIn", { email: "dev@example.com", password: "developer's passphrase" });
    const cookie = cookieHeader(signIn.setCookies);
    const csrf = (signIn.data as { csrfToken: string }).csrfToken;
    const access = (await browserCall("auth.accessToken", {}, { cookie, "x-flowplane-csrf": csrf })).data as {
      token: string;
      scope: string;
    };
    expect(access.scope).toBe("READ");
    const dev = createApiClient({ apiUrl: server.url, apiKey: access.token, workspace: null });
    expect((await dev.auth.whoami.query()).actor).toMatchObject({ type: "user", email: "dev@example.com" });

    const removed = await runCli(["member", "remove", "dev@example.com"], server.env);
    expect(removed.code, removed.stderr).toBe(0);
    await expect(dev.auth.whoami.query()).rejects.toThrow(/signed out|not a member/);
    const gone = await runCli(["member", "remove", "dev@example.com"], server.env);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/email: dev@example.com is not a member/);
  });
});

describe("flowplane login --url (device flow)", () => {
  it("prints a code, waits for a signed-in person to confirm it, and stores a key bound to them", async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), "flowplane-login-"));
    try {
      const env = { FLOWPLANE_HOME: home, FLOWPLANE_QUIET: "1" };
      const child = spawnCli(["login", "--url", server.url], env);
      const code = await waitFor(
        "the device code",
        async () => /code ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(outputOf(child))?.[1],
        30_000,
      );
      expect(outputOf(child)).toContain(`${server.url}/device?code=${code}`);

      const signIn = await browserCall("auth.signIn", { email: OWNER, password: OWNER_PASSWORD });
      const csrf = (signIn.data as { csrfToken: string }).csrfToken;
      const access = (
        await browserCall("auth.accessToken", {}, { cookie: cookieHeader(signIn.setCookies), "x-flowplane-csrf": csrf })
      ).data as { token: string };
      await createApiClient({ apiUrl: server.url, apiKey: access.token, workspace: null }).auth.deviceDecide.mutate({
        userCode: code,
        approve: true,
      });
      expect(await exited(child)).toBe(0);
      expect(outputOf(child)).toMatch(
        new RegExp(`logged in to ${server.url} as ${OWNER} \\(admin\\) in workspace "default"`),
      );
      const profile = await readFile(path.join(home, "profiles.json"), "utf8");
      expect(profile).toMatch(/fp_[0-9a-f]{12}_/);

      const ls = await runCli(["member", "ls", "--json"], env);
      expect(ls.code, ls.stderr).toBe(0);
      const who = await runCli(["api-key", "ls", "--json"], env);
      expect(who.code, who.stderr).toBe(0);
      expect(JSON.parse(who.stdout)).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: expect.stringMatching(/^cli: flowplane CLI on /) })]),
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
