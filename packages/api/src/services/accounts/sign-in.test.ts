// People signing in, through the real routers and database: passwords and their rules, throttling
// and lockout, cookie attributes, CSRF, session fixation, sign-out (here and everywhere), password
// reset links and invitation links (single use, expiring), and the CLI's device sign-in.
import { beforeAll, describe, expect, it } from "vitest";
import { CSRF_COOKIE, SESSION_COOKIE } from "../../auth/cookies.ts";
import { callError, TestBrowser, useTestApi } from "../../testing.ts";
import { pruneSignInRecords } from "./pruning.ts";

const api = useTestApi({
  // Cheap hashes and small limits: the rules are the same, the test is faster.
  config: {
    scryptCost: 2 ** 10,
    loginMaxFailures: 3,
    loginLockoutSeconds: 60,
    loginIpMaxFailures: 8,
    publicUrl: "http://dash.test",
  },
});
const PASSWORD = "correct horse battery staple";

beforeAll(async () => {
  await api.a.as.ADMIN.members.createUser({ email: "Owner@Example.com", role: "owner", password: PASSWORD });
});

/** Signs in like the dashboard: password, then the CSRF token echoed in a header from then on. */
async function signIn(email: string, password = PASSWORD, browser = new TestBrowser()) {
  const res = await api.caller(null, { http: browser }).auth.signIn({ email, password });
  browser.csrfToken = res.csrfToken;
  return browser;
}

async function accessToken(browser: TestBrowser, workspace?: string) {
  return api.caller(null, { http: browser }).auth.accessToken(workspace ? { workspace } : {});
}

describe("password sign-in", () => {
  it("signs in with email and password, sets hardened cookies, and yields a workspace token with the person's role", async () => {
    const browser = await signIn("owner@example.com");
    const session = browser.setCookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/Path=\/trpc/);
    expect(session).not.toMatch(/Secure/);
    expect(browser.cookies[CSRF_COOKIE]).toBe(browser.csrfToken);
    const access = await accessToken(browser);
    expect(access).toMatchObject({
      workspace: { name: "ws-a" },
      orgRole: "OWNER",
      scope: "ADMIN",
      user: { email: "owner@example.com" },
    });
    expect(await api.caller(access.token).auth.whoami()).toMatchObject({
      via: "session",
      apiKeyId: null,
      actor: { type: "user", email: "owner@example.com" },
      scope: "ADMIN",
    });
  });

  it("marks cookies Secure when served over TLS", async () => {
    const browser = new TestBrowser();
    browser.secure = true;
    await signIn("owner@example.com", PASSWORD, browser);
    for (const c of browser.setCookies) expect(c).toMatch(/; Secure/);
  });

  it("refuses a wrong password without saying which half was wrong, and an unknown email the same way", async () => {
    const wrong = await callError(
      api
        .caller(null, { http: new TestBrowser("10.0.0.1") })
        .auth.signIn({ email: "owner@example.com", password: "nope nope nope" }),
    );
    const unknown = await callError(
      api
        .caller(null, { http: new TestBrowser("10.0.0.1") })
        .auth.signIn({ email: "nobody@example.com", password: PASSWORD }),
    );
    expect(wrong.code).toBe("UNAUTHORIZED");
    expect(unknown.code).toBe("UNAUTHORIZED");
    expect(wrong.message).toBe(unknown.message);
  });

  it("locks an account after repeated failures with a clear message, and a reset unlocks it", async () => {
    await api.a.as.ADMIN.members.createUser({ email: "locked@example.com", role: "developer", password: PASSWORD });
    const attempt = (password: string, ip = "10.0.1.1") =>
      api.caller(null, { http: new TestBrowser(ip) }).auth.signIn({ email: "locked@example.com", password });
    expect((await callError(attempt("wrong password 1"))).code).toBe("UNAUTHORIZED");
    expect((await callError(attempt("wrong password 2"))).code).toBe("UNAUTHORIZED");
    const locked = await callError(attempt("wrong password 3"));
    expect(locked.code).toBe("TOO_MANY_REQUESTS");
    expect(locked.message).toMatch(
      /this account is locked after 3 failed sign-ins; try again in 1 minutes or reset your password/,
    );
    // Locked even with the right password, from anywhere.
    expect((await callError(attempt(PASSWORD, "10.0.1.2"))).message).toMatch(/locked/);
    const { link } = await api.a.as.ADMIN.members.resetLink({ email: "locked@example.com" });
    await api.caller(null).auth.resetPassword({ token: link.split("#")[1]!, password: "a brand new passphrase" });
    await signIn("locked@example.com", "a brand new passphrase");
  });

  it("throttles an address that tries many accounts", async () => {
    const ip = "10.0.2.1";
    for (let i = 0; i < 8; i++)
      await callError(
        api
          .caller(null, { http: new TestBrowser(ip) })
          .auth.signIn({ email: `u${i}@example.com`, password: "whatever it is" }),
      );
    const err = await callError(
      api.caller(null, { http: new TestBrowser(ip) }).auth.signIn({ email: "owner@example.com", password: PASSWORD }),
    );
    expect(err.code).toBe("TOO_MANY_REQUESTS");
    expect(err.message).toMatch(/too many failed sign-ins from your address/);
    await signIn("owner@example.com", PASSWORD, new TestBrowser("10.0.2.2"));
  });

  it("refuses cookie calls without the CSRF token or with another session's", async () => {
    const browser = await signIn("owner@example.com");
    const other = await signIn("owner@example.com");
    const forged = new TestBrowser();
    forged.cookies = { ...browser.cookies };
    for (const csrf of [null, "", other.csrfToken, browser.csrfToken + "x"]) {
      forged.csrfToken = csrf;
      const err = await callError(api.caller(null, { http: forged }).auth.accessToken({}));
      expect(err.code, String(csrf)).toBe("FORBIDDEN");
      expect(err.message).toMatch(/CSRF/);
      expect((await callError(api.caller(null, { http: forged }).auth.signOutEverywhere())).code).toBe("FORBIDDEN");
    }
    await accessToken(browser);
  });

  it("gives a new session id at every sign-in and ends the one the browser had (session fixation)", async () => {
    const browser = await signIn("owner@example.com");
    const planted = browser.cookies[SESSION_COOKIE]!;
    const before = await accessToken(browser);
    await signIn("owner@example.com", PASSWORD, browser);
    expect(browser.cookies[SESSION_COOKIE]).not.toBe(planted);
    const stale = new TestBrowser();
    stale.cookies = { [SESSION_COOKIE]: planted };
    stale.csrfToken = before.token;
    expect((await callError(api.caller(null, { http: stale }).auth.accessToken({}))).code).toBe("UNAUTHORIZED");
    api.services.authenticator.invalidate();
    expect((await callError(api.caller(before.token).auth.whoami())).code).toBe("UNAUTHORIZED");
    await accessToken(browser);
  });

  it("signs out here, or everywhere at once", async () => {
    const laptop = await signIn("owner@example.com");
    const phone = await signIn("owner@example.com");
    const laptopToken = (await accessToken(laptop)).token;
    const phoneToken = (await accessToken(phone)).token;
    await api.caller(null, { http: laptop }).auth.signOut();
    expect(laptop.cookies[SESSION_COOKIE]).toBeUndefined();
    expect((await callError(api.caller(laptopToken).auth.whoami())).code).toBe("UNAUTHORIZED");
    expect((await api.caller(phoneToken).auth.whoami()).via).toBe("session");

    const tablet = await signIn("owner@example.com");
    await api.caller(null, { http: tablet }).auth.signOutEverywhere();
    expect((await callError(api.caller(phoneToken).auth.whoami())).code).toBe("UNAUTHORIZED");
    expect((await callError(accessToken(phone))).code).toBe("UNAUTHORIZED");
  });
});

describe("passwords", () => {
  it("refuses short, common and email-derived passwords, naming the field", async () => {
    for (const [password, why] of [
      ["short pw", /at least 12 characters/],
      ["password1234", /most common passwords/],
      ["qwertyuiop123!", /most common passwords/],
      ["newperson-rocks-2026", /must not contain your email/],
      ["aaaaaaaaaaaaaaaa", /too few different characters/],
    ] as const) {
      const err = await callError(
        api.a.as.ADMIN.members.createUser({ email: "newperson@example.com", role: "viewer", password }),
      );
      expect(err.code, password).toBe("BAD_REQUEST");
      expect(err.message, password).toMatch(why);
      expect(err.message.startsWith("password: ")).toBe(true);
    }
  });

  it("stores only an scrypt hash", async () => {
    const user = await api.db.prisma.user.findUniqueOrThrow({
      where: { email: "owner@example.com" },
      select: { passwordHash: true },
    });
    expect(user.passwordHash).toMatch(/^scrypt\$\d+\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(user.passwordHash).not.toContain(PASSWORD);
  });
});

describe("reset and invitation links", () => {
  it("a reset link works once, ends every sign-in, and expires", async () => {
    await api.a.as.ADMIN.members.createUser({ email: "reset@example.com", role: "viewer", password: PASSWORD });
    const signedIn = await signIn("reset@example.com");
    const token = (await accessToken(signedIn)).token;
    const { link } = await api.a.as.ADMIN.members.resetLink({ email: "reset@example.com" });
    expect(link).toMatch(/^http:\/\/dash\.test\/reset-password#/);
    const secret = link.split("#")[1]!;
    await api.caller(null).auth.resetPassword({ token: secret, password: "another fine passphrase" });
    api.services.authenticator.invalidate();
    expect((await callError(api.caller(token).auth.whoami())).code).toBe("UNAUTHORIZED");
    const reused = await callError(
      api.caller(null).auth.resetPassword({ token: secret, password: "yet another passphrase" }),
    );
    expect(reused.code).toBe("PRECONDITION_FAILED");
    expect(reused.message).toMatch(/already used/);

    const second = (await api.a.as.ADMIN.members.resetLink({ email: "reset@example.com" })).link.split("#")[1]!;
    await api.db.prisma.passwordReset.updateMany({
      where: { usedAt: null },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const expired = await callError(
      api.caller(null).auth.resetPassword({ token: second, password: "yet another passphrase" }),
    );
    expect(expired.message).toMatch(/expired/);
    const forged = await callError(
      api.caller(null).auth.resetPassword({ token: "x".repeat(43), password: "yet another passphrase" }),
    );
    expect(forged.code).toBe("NOT_FOUND");
  });

  it("an invitation link creates the member with its role, once; expired or withdrawn links are refused", async () => {
    const invited = await api.a.as.ADMIN.members.invite({ email: "dev@example.com", role: "developer" });
    expect(invited).toMatchObject({ mailed: false, role: "developer" });
    const secret = invited.link!.split("#")[1]!;
    expect(await api.caller(null).auth.invitation({ token: secret })).toMatchObject({
      email: "dev@example.com",
      workspace: "ws-a",
      role: "developer",
      existingUser: false,
    });
    const browser = new TestBrowser();
    const accepted = await api
      .caller(null, { http: browser })
      .auth.acceptInvitation({ token: secret, password: "developer passphrase" });
    browser.csrfToken = accepted.csrfToken;
    expect(await accessToken(browser)).toMatchObject({
      workspace: { name: "ws-a" },
      scope: "DEVELOPER",
      orgRole: "MEMBER",
    });
    const reused = await callError(
      api
        .caller(null, { http: new TestBrowser() })
        .auth.acceptInvitation({ token: secret, password: "developer passphrase" }),
    );
    expect(reused.message).toMatch(/already used/);

    const late = (await api.a.as.ADMIN.members.invite({ email: "late@example.com", role: "viewer" })).link!.split(
      "#",
    )[1]!;
    await api.db.prisma.invitation.updateMany({
      where: { email: "late@example.com" },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(
      (
        await callError(
          api
            .caller(null, { http: new TestBrowser() })
            .auth.acceptInvitation({ token: late, password: "late passphrase here" }),
        )
      ).message,
    ).toMatch(/expired/);

    const withdrawn = await api.a.as.ADMIN.members.invite({ email: "gone@example.com", role: "viewer" });
    await api.a.as.ADMIN.members.revokeInvitation({ id: withdrawn.id });
    expect(
      (
        await callError(
          api
            .caller(null, { http: new TestBrowser() })
            .auth.acceptInvitation({ token: withdrawn.link!.split("#")[1]!, password: "gone passphrase here" }),
        )
      ).message,
    ).toMatch(/withdrawn/);
  });

  it("an existing account accepting an invitation proves its password under the sign-in lockout", async () => {
    await api.a.as.ADMIN.members.createUser({ email: "invitee@example.com", role: "viewer", password: PASSWORD });
    const invited = await api.b.as.ADMIN.members.invite({ email: "invitee@example.com", role: "developer" });
    const token = invited.link!.split("#")[1]!;
    const accept = (password: string) =>
      api.caller(null, { http: new TestBrowser("10.0.3.1") }).auth.acceptInvitation({ token, password });
    expect((await callError(accept("wrong password 1"))).code).toBe("UNAUTHORIZED");
    expect((await callError(accept("wrong password 2"))).code).toBe("UNAUTHORIZED");
    expect((await callError(accept("wrong password 3"))).message).toMatch(/this account is locked after 3 failed/);
    // Locked for the link and for signing in alike, even with the right password; the link is not spent.
    expect((await callError(accept(PASSWORD))).message).toMatch(/locked/);
    expect((await callError(signIn("invitee@example.com"))).message).toMatch(/locked/);
    expect(
      await api.db.prisma.invitation.findFirst({ where: { id: invited.id }, select: { acceptedAt: true } }),
    ).toEqual({ acceptedAt: null });
  });

  it("throttles device sign-in starts and password-reset requests per address", async () => {
    for (const [what, call] of [
      ["device", (ip: string) => api.caller(null, { http: new TestBrowser(ip) }).auth.deviceStart({ clientName: "x" })],
      [
        "reset",
        (ip: string) =>
          api.caller(null, { http: new TestBrowser(ip) }).auth.requestPasswordReset({ email: "owner@example.com" }),
      ],
    ] as const) {
      const ip = what === "device" ? "10.0.4.1" : "10.0.4.2";
      for (let i = 0; i < 8; i++) await call(ip);
      const refused = await callError(call(ip));
      expect(refused.code, what).toBe("TOO_MANY_REQUESTS");
      expect(refused.message).toMatch(/too many requests from your address; try again in \d+ minutes/);
      await call("10.0.4.3"); // another address is unaffected
    }
  });

  it("removing a member revokes their sign-ins and keys at once", async () => {
    await api.a.as.ADMIN.members.createUser({ email: "leaver@example.com", role: "developer", password: PASSWORD });
    const browser = await signIn("leaver@example.com");
    const token = (await accessToken(browser)).token;
    const key =
      (await api
        .caller(token)
        .apiKeys.create({ name: "leaver's", scope: "READ" })
        .catch(() => null)) ?? null;
    expect(key).toBeNull(); // developers cannot create keys (admin only)
    const device = await api.caller(null).auth.deviceStart({ clientName: "laptop" });
    await api.caller(token).auth.deviceDecide({ userCode: device.userCode, approve: true });
    const cli = await api.caller(null).auth.devicePoll({ deviceCode: device.deviceCode });
    if (cli.status !== "approved") throw new Error(`device sign-in ${cli.status}`);
    expect(await api.caller(cli.apiKey).auth.whoami()).toMatchObject({
      scope: "DEVELOPER",
      actor: { email: "leaver@example.com" },
    });

    const removed = await api.a.as.ADMIN.members.remove({ email: "leaver@example.com" });
    expect(removed).toMatchObject({ removed: true, revokedKeys: 1 });
    expect((await callError(api.caller(token).auth.whoami())).code).toBe("UNAUTHORIZED");
    expect((await callError(api.caller(cli.apiKey).auth.whoami())).message).toMatch(/revoked/);
    expect((await callError(accessToken(browser))).code).toBe("UNAUTHORIZED");
    const keyRow = await api.db.prisma.apiKey.findFirstOrThrow({
      where: { user: { email: "leaver@example.com" } },
      select: { revokedAt: true },
    });
    expect(keyRow.revokedAt).not.toBeNull();
  });
});

describe("device sign-in", () => {
  it("hands the CLI a key bound to the person once they confirm the code; denied and spent codes give nothing", async () => {
    const start = await api.caller(null).auth.deviceStart({ clientName: "ci box" });
    expect(start.userCode).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(start.verificationUrl).toBe(`http://dash.test/device?code=${start.userCode}`);
    expect(await api.caller(null).auth.devicePoll({ deviceCode: start.deviceCode })).toMatchObject({
      status: "pending",
    });
    // A key cannot confirm: only a person signed in to the dashboard.
    expect((await callError(api.a.as.ADMIN.auth.deviceDecide({ userCode: start.userCode, approve: true }))).code).toBe(
      "FORBIDDEN",
    );
    const owner = (await accessToken(await signIn("owner@example.com"))).token;
    await api
      .caller(owner)
      .auth.deviceDecide({ userCode: start.userCode.toLowerCase().replace("-", ""), approve: true });
    const done = await api.caller(null).auth.devicePoll({ deviceCode: start.deviceCode });
    expect(done).toMatchObject({ status: "approved", workspace: "ws-a", email: "owner@example.com", scope: "ADMIN" });
    if (done.status !== "approved") throw new Error("not approved");
    expect(await api.caller(done.apiKey).auth.whoami()).toMatchObject({
      via: "api-key",
      actor: { type: "user", email: "owner@example.com" },
    });
    expect(await api.caller(null).auth.devicePoll({ deviceCode: start.deviceCode })).toEqual({ status: "expired" });

    const denied = await api.caller(null).auth.deviceStart({ clientName: "stranger" });
    await api.caller(owner).auth.deviceDecide({ userCode: denied.userCode, approve: false });
    expect(await api.caller(null).auth.devicePoll({ deviceCode: denied.deviceCode })).toEqual({ status: "denied" });
    expect(
      (await callError(api.caller(owner).auth.deviceDecide({ userCode: denied.userCode, approve: true }))).code,
    ).toBe("PRECONDITION_FAILED");
  });
});

describe("pruning", () => {
  it("deletes sessions, device codes, reset links and throttles a day after they stop mattering, and nothing live", async () => {
    const live = await signIn("owner@example.com");
    await api.caller(null).auth.deviceStart({ clientName: "old" });
    const counts = async () => ({
      sessions: await api.db.prisma.userSession.count(),
      devices: await api.db.prisma.deviceAuthorization.count(),
      throttles: await api.db.prisma.loginThrottle.count(),
    });
    const before = await counts();
    expect(before.throttles).toBeGreaterThan(0);
    expect(await pruneSignInRecords(api.services.resources)).toEqual({
      sessions: 0,
      deviceCodes: 0,
      resetLinks: 0,
      throttles: 0,
    });
    const later = await pruneSignInRecords(api.services.resources, new Date(Date.now() + 9 * 86_400_000));
    expect(later.sessions).toBe(before.sessions);
    expect(later.deviceCodes).toBe(before.devices);
    expect(later.throttles).toBe(before.throttles);
    expect(await counts()).toEqual({ sessions: 0, devices: 0, throttles: 0 });
    expect((await callError(accessToken(live))).code).toBe("UNAUTHORIZED");
  });
});
