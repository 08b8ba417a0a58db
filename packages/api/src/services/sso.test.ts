// Single sign-on for an organisation against a real OpenID provider on loopback: settings checked
// and the client secret sealed; a first sign-in makes the person a member just in time; refusals
// (a domain not allowed, a tampered state, a cookie from nowhere) are refused and audited; an
// organisation that requires SSO refuses its members' passwords.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OidcError } from "../auth/oidc/client.ts";
import { signInAtProvider, startTestProvider, type TestProvider } from "../auth/oidc/test-provider.ts";
import { callError, createTestApi, type TestApi } from "../testing.ts";
import { assertPasswordSignInAllowed, finishSsoSignIn, startSsoSignIn } from "./sso.ts";

const REDIRECT = "http://127.0.0.1:9/auth/sso/callback";
const CLIENT = { clientId: "flowplane", clientSecret: "idp-client-secret-0123456789", redirectUris: [REDIRECT] };
const client = { ip: "198.51.100.4", userAgent: "sso-test" };

let api: TestApi;
let idp: TestProvider;
let orgA: string;

beforeAll(async () => {
  [api, idp] = await Promise.all([createTestApi(), startTestProvider({ clients: [CLIENT] })]);
  orgA = (
    await api.db.prisma.workspace.findUniqueOrThrow({ where: { id: api.a.id }, select: { organizationId: true } })
  ).organizationId;
  await api.a.as.ADMIN.sso.configure({
    issuer: idp.issuer,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    allowedDomains: ["Acme.test", "@acme-labs.test"],
    workspaceName: api.a.name,
    defaultRole: "DEVELOPER",
  });
});
afterAll(async () => {
  await api?.close();
  await idp?.close();
});

async function signIn(email: string, login = email) {
  const started = await startSsoSignIn(api.services.resources, api.services.masterKeys, api.services.oidc, {
    email,
    redirectUri: REDIRECT,
  });
  const back = await signInAtProvider(started.url, login, REDIRECT);
  return { started, back };
}

const finish = (pending: string | null, callback: URLSearchParams) =>
  finishSsoSignIn(api.services.resources, api.services.masterKeys, api.services.oidc, {
    pending,
    callback,
    redirectUri: REDIRECT,
    client,
  });

async function auditOf(action: string) {
  await api.services.resources.audit.flush();
  return api.db.prisma.auditEvent.findMany({ where: { action }, orderBy: { occurredAt: "desc" } });
}

describe("SSO settings", () => {
  it("keeps the client secret sealed and never returns it; lower-cases the domains", async () => {
    const view = await api.a.as.ADMIN.sso.get();
    expect(view).toMatchObject({
      issuer: idp.issuer,
      allowedDomains: ["acme.test", "acme-labs.test"],
      defaultRole: "DEVELOPER",
    });
    expect(JSON.stringify(view)).not.toContain(CLIENT.clientSecret);
    const row = await api.db.prisma.ssoConnection.findUniqueOrThrow({ where: { organizationId: orgA } });
    expect(row.clientSecret).toMatch(/^fpenc:v1:/);
    expect(row.clientSecret).not.toContain(CLIENT.clientSecret);
  });

  it("refuses an issuer without a discovery document, a domain of another organisation, and non-admins", async () => {
    const base = { clientId: "x", clientSecret: "y", workspaceName: api.b.name, defaultRole: "VIEWER" as const };
    const badIssuer = await callError(
      api.b.as.ADMIN.sso.configure({ ...base, issuer: "http://127.0.0.1:9/nowhere", allowedDomains: ["b.test"] }),
    );
    expect(badIssuer.message).toMatch(/^issuer: /);
    const taken = await callError(
      api.b.as.ADMIN.sso.configure({ ...base, issuer: idp.issuer, allowedDomains: ["acme.test"] }),
    );
    expect(taken.code).toBe("CONFLICT");
    expect(taken.message).toContain("acme.test");
    const other = await callError(
      api.b.as.ADMIN.sso.configure({
        ...base,
        issuer: idp.issuer,
        allowedDomains: ["b.test"],
        workspaceName: api.a.name,
      }),
    );
    expect(other.message).toMatch(/^workspaceName: /);
    expect(
      (await callError(api.a.as.DEVELOPER.sso.configure({ ...base, issuer: idp.issuer, allowedDomains: ["c.test"] })))
        .code,
    ).toBe("FORBIDDEN");
  });
});

describe("SSO sign-in", () => {
  it("makes a new person a member just in time, with the default role, and audits the sign-in", async () => {
    const { started, back } = await signIn("grace@acme.test");
    expect(new URL(started.url).searchParams.get("login_hint")).toBe("grace@acme.test");
    const first = await finish(started.pending, back.searchParams);
    expect(first).toMatchObject({ email: "grace@acme.test", organizationId: orgA, created: true });
    const user = await api.db.prisma.user.findUniqueOrThrow({
      where: { email: "grace@acme.test" },
      select: {
        id: true,
        passwordHash: true,
        orgMemberships: { select: { role: true } },
        workspaceMemberships: { select: { workspaceId: true, role: true } },
      },
    });
    expect(user).toMatchObject({
      id: first.userId,
      passwordHash: null,
      orgMemberships: [{ role: "MEMBER" }],
      workspaceMemberships: [{ workspaceId: api.a.id, role: "DEVELOPER" }],
    });
    // Again: the same user, nothing created.
    const again = await signIn("grace@acme.test");
    expect(await finish(again.started.pending, again.back.searchParams)).toMatchObject({
      userId: first.userId,
      created: false,
    });
    const [entry] = await auditOf("auth.sso.signIn");
    expect(entry).toMatchObject({
      outcome: "ok",
      actorType: "user",
      actorId: first.userId,
      actorName: "grace@acme.test",
      ip: client.ip,
    });
  });

  it("refuses an email outside the allowed domains (the provider vouches for someone else)", async () => {
    const { started, back } = await signIn("ada@acme.test", "eve@evil.test");
    const err = await finish(started.pending, back.searchParams).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("eve@evil.test is not in a domain allowed"),
    });
    expect(await api.db.prisma.user.findUnique({ where: { email: "eve@evil.test" } })).toBeNull();
    const [entry] = await auditOf("auth.sso.signIn");
    expect(entry).toMatchObject({
      outcome: "refused",
      errorCode: "FORBIDDEN",
      actorType: "anonymous",
      target: { email: "eve@evil.test", organizationId: orgA },
    });
  });

  it("refuses a callback with another state, and one without this browser's sealed sign-in", async () => {
    const { started, back } = await signIn("ada@acme.test");
    const wrongState = new URLSearchParams(back.searchParams);
    wrongState.set("state", "forged");
    await expect(finish(started.pending, wrongState)).rejects.toMatchObject({ code: "STATE_MISMATCH" });
    await expect(finish(null, back.searchParams)).rejects.toBeInstanceOf(OidcError);
    await expect(finish(`${started.pending.slice(0, -4)}AAAA`, back.searchParams)).rejects.toMatchObject({
      code: "NO_PENDING_SIGN_IN",
    });
    const entries = await auditOf("auth.sso.signIn");
    expect(
      entries
        .slice(0, 3)
        .map((e) => e.errorCode)
        .sort(),
    ).toEqual(["NO_PENDING_SIGN_IN", "NO_PENDING_SIGN_IN", "STATE_MISMATCH"]);
  });

  it("refuses a domain with no SSO at the start", async () => {
    await expect(
      startSsoSignIn(api.services.resources, api.services.masterKeys, api.services.oidc, {
        email: "x@nowhere.test",
        redirectUri: REDIRECT,
      }),
    ).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("nowhere.test") });
  });

  it("refuses password sign-in to members of an organisation that requires SSO", async () => {
    const { started, back } = await signIn("lin@acme.test");
    const { userId } = await finish(started.pending, back.searchParams);
    await expect(assertPasswordSignInAllowed(api.db.prisma, userId)).resolves.toBeUndefined();
    const current = (await api.a.as.ADMIN.sso.get())!;
    await api.a.as.ADMIN.sso.configure({ ...current, required: true });
    await expect(assertPasswordSignInAllowed(api.db.prisma, userId)).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("requires single sign-on"),
    });
  });
});
